import t from 'tap';
import type { OperationOutcomeIssue, Resource } from 'fhir/r4.js';
import { createValidator } from '../../src/validation/validator.js';
import { validatorCases } from './test-data.js';

// A profile's constraint inside a contained resource sees that resource as %resource (HL7 case contained-invariant).
const cases = validatorCases(t);
if (cases) {
  const read = (f: string) => cases(f) as Resource;
  const v = (await createValidator()).extend([read('contained-invariant-profile.json')]);
  const errors = (issues: OperationOutcomeIssue[]) => issues.filter((i) => i.severity === 'error').map((i) => `${i.expression?.[0]} ${i.diagnostics?.slice(0, 40)}`);
  const instance = read('contained-invariant-instance.json') as Resource & { contained: Record<string, unknown>[] };

  t.test('%context, %resource and %rootResource at, inside and beside contained', async (t) => {
    t.same(errors(v.validate(instance)), []);
  });

  t.test('the nearest failure: the contained resource is not the Practitioner cont-1/cont-2 expect', async (t) => {
    const other = { ...instance, contained: [{ resourceType: 'Person', id: 'p1', name: [{ text: 'Dr Malaprop' }] }] };
    const found = errors(v.validate(other));
    t.ok(found.some((e) => e.startsWith('Patient.contained[0] ') && e.includes('cont-1')), 'cont-1 on the element itself');
    t.ok(found.some((e) => e.startsWith('Patient.contained[0].name[0] ') && e.includes('cont-2')), 'cont-2 inside it');
  });
}
