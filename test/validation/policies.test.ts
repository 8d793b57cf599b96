import t from 'tap';
import type { OperationOutcomeIssue } from 'fhir/r4.js';
import { containsHtmlTags, markdownHtmlAt } from '../../src/validation/string-content.js';
import { policiesFromManifest } from '../../src/validation/policies.js';
import { createValidator } from '../../src/validation/validator.js';

// One test per optional check (src/validation/policies.ts): a case it catches and the nearest one it must not.
const validator = await createValidator();

const errorsAt = (issues: OperationOutcomeIssue[]) => issues.filter((i) => i.severity === 'error').map((i) => i.expression?.[0]);
// dom-6 (no narrative) warns on every bare test resource; it is not what these tests look at.
const warningsAt = (issues: OperationOutcomeIssue[]) =>
  issues.filter((i) => i.severity === 'warning' && !i.diagnostics?.includes('dom-6')).map((i) => i.expression?.[0]);

const patient = (text: string) => ({ resourceType: 'Patient', id: 'p1', name: [{ text }] });

t.test('security checks: HTML tags in a string are an error only when switched on', async (t) => {
  const bad = patient('Standard <script>somescript</script>');
  t.same(errorsAt(validator.validate(bad, { policies: { securityChecks: true } })), ['Patient.name[0].text']);
  t.same(errorsAt(validator.validate(bad)), [], 'off (the Java default): no error');
  const comparison = patient('BP < 140 and > 90, x<5');
  t.same(errorsAt(validator.validate(comparison, { policies: { securityChecks: true } })), [], 'a < b > c is not a tag');
  t.same(errorsAt(validator.validate(patient('a <b>bold</b> name'), { policies: { securityChecks: true } })), ['Patient.name[0].text']);
  // Narrative is xhtml, checked by its own rules: allowed markup there is fine.
  const narrative = { ...patient('Jo'), text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><b>Jo</b></div>' } };
  t.same(errorsAt(validator.validate(narrative, { policies: { securityChecks: true } })), []);
  t.ok(containsHtmlTags('<img src=x onerror=alert(1)>'));
  t.notOk(containsHtmlTags('<>'), 'an empty tag is not a tag');
  t.notOk(containsHtmlTags('< script>'), 'a tag name starts right after <');
});

t.test('HTML in markdown: error with noHtmlInMarkdown, warning by default, escaped is fine', async (t) => {
  const communication = (text: string) => ({ resourceType: 'Communication', status: 'completed', note: [{ text }] });
  const bad = communication('<resource type>\\<id>');
  t.same(errorsAt(validator.validate(bad, { policies: { htmlInMarkdown: 'error' } })), ['Communication.note[0].text']);
  const byDefault = validator.validate(bad);
  t.same(errorsAt(byDefault), [], 'default: not an error');
  t.same(warningsAt(byDefault), ['Communication.note[0].text'], 'default: a warning');
  t.same(warningsAt(validator.validate(bad, { policies: { htmlInMarkdown: 'none' } })), [], 'none: not reported');
  const escaped = communication('\\<resource type> costs < 5');
  t.same(warningsAt(validator.validate(escaped, { policies: { htmlInMarkdown: 'error' } })), [], 'escaped \\< and < before a non-letter are text');
  // Only markdown is markdown: the same text in a plain string is not this check's business.
  t.same(errorsAt(validator.validate(patient('<resource type>'), { policies: { htmlInMarkdown: 'error' } })), []);
  t.equal(markdownHtmlAt('a <b'), 2);
  t.equal(markdownHtmlAt('a \\<b <1'), -1);
});

t.test('validateContains: IGNORE skips contained resources, CHECK_TYPE only checks their type', async (t) => {
  const longId = '1234567890'.repeat(6) + '12345';
  const condition = (contained: unknown[]) => ({ resourceType: 'Condition', subject: { reference: 'Patient/p1' }, contained });
  const badContained = condition([{ resourceType: 'Practitioner', id: longId, name: [{ family: 'Person' }] }]);
  const valid = errorsAt(validator.validate(badContained));
  t.ok(valid.includes('Condition.contained[0].id'), 'CHECK_VALID (default): the contained id is checked');
  t.ok(valid.includes('Condition.contained[0]'), 'CHECK_VALID: dom-3, not referenced');
  t.same(errorsAt(validator.validate(badContained, { policies: { contained: 'IGNORE' } })), []);
  t.same(errorsAt(validator.validate(badContained, { policies: { contained: 'CHECK_TYPE' } })), ['Condition.contained[0]'], 'CHECK_TYPE: content not checked, dom-3 still');
  const unknownType = { ...condition([{ resourceType: 'Nonsense', id: 'x' }]), evidence: [{ detail: [{ reference: '#x' }] }] };
  t.same(errorsAt(validator.validate(unknownType, { policies: { contained: 'CHECK_TYPE' } })), ['Condition.contained[0]'], 'CHECK_TYPE: an unknown type is an error');
  t.same(errorsAt(validator.validate(unknownType, { policies: { contained: 'IGNORE' } })), []);
});

t.test('validateReference: references must resolve inside the Bundle/Parameters, and to the right type', async (t) => {
  const parameters = (beneficiary: string) => ({
    resourceType: 'Parameters',
    parameter: [
      { name: 'MemberPatient', resource: { resourceType: 'Patient', id: '1' } },
      { name: 'NewCoverage', resource: { resourceType: 'Coverage', id: 'c', status: 'active', beneficiary: { reference: beneficiary }, payor: [{ display: 'Payer' }] } },
    ],
  });
  const exists = { references: 'CHECK_EXISTS_AND_TYPE' } as const;
  t.same(errorsAt(validator.validate(parameters('Patient/2'), { policies: exists })), ['Parameters.parameter[1].resource.beneficiary']);
  t.same(errorsAt(validator.validate(parameters('Patient/1'), { policies: exists })), [], 'Patient/1 is another parameter');
  t.same(errorsAt(validator.validate(parameters('Patient/1/_history/3'), { policies: exists })), [], 'a version-specific reference resolves too');
  t.same(errorsAt(validator.validate(parameters('Patient/2'))), [], 'IGNORE (default): not resolved');
  t.same(errorsAt(validator.validate(parameters('http://other.example/fhir/Patient/2'), { policies: exists })), [], 'absolute URLs are other servers: left alone');

  const bundle = (target: Record<string, unknown>) => ({
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      { fullUrl: 'urn:uuid:0f0e0d0c-0b0a-4909-8807-060504030201', resource: target },
      { fullUrl: 'urn:uuid:1f0e0d0c-0b0a-4909-8807-060504030201', resource: { resourceType: 'Condition', subject: { reference: 'urn:uuid:0f0e0d0c-0b0a-4909-8807-060504030201' } } },
    ],
  });
  const typeIfExists = { references: 'CHECK_TYPE_IF_EXISTS' } as const;
  t.same(errorsAt(validator.validate(bundle({ resourceType: 'Observation', status: 'final', code: { text: 'x' } }), { policies: typeIfExists })), ['Bundle.entry[1].resource.subject'], 'Condition.subject cannot be an Observation');
  t.same(errorsAt(validator.validate(bundle({ resourceType: 'Patient' }), { policies: typeIfExists })), [], 'a Patient is a valid subject');
  t.same(errorsAt(validator.validate(bundle({ resourceType: 'Observation', status: 'final', code: { text: 'x' } }))), [], 'IGNORE: not resolved');
});

t.test('manifest options map to policies', async (t) => {
  t.same(policiesFromManifest({ name: 'x' }), { securityChecks: false, htmlInMarkdown: 'warning', contained: 'CHECK_VALID', references: 'IGNORE' });
  t.same(
    policiesFromManifest({ name: 'x', 'security-checks': true, noHtmlInMarkdown: true, validateContains: 'IGNORE', validateReference: 'CHECK_EXISTS_AND_TYPE' }),
    { securityChecks: true, htmlInMarkdown: 'error', contained: 'IGNORE', references: 'CHECK_EXISTS_AND_TYPE' },
  );
  t.throws(() => policiesFromManifest({ name: 'x', validateReference: 'SOMETIMES' }), /validateReference must be one of/);
});
