import t from 'tap';
import type { OperationOutcomeIssue, Resource } from 'fhir/r4.js';
import { createValidator } from '../../src/validation/validator.js';
import { validatorCases } from './test-data.js';

// A required additional binding (R5 binding.additional, as an extension in R4) is checked (HL7 case additional-bindings-observation-2).
const cases = validatorCases(t);
if (cases) {
  const read = (f: string) => cases(f) as Resource & { url: string };
  const profile = read('additional-bindings-profile-2.json');
  const v = (await createValidator()).extend([profile, read('additional-bindings-vs1.json')]);
  const errors = (issues: OperationOutcomeIssue[]) => issues.filter((i) => i.severity === 'error').map((i) => i.expression?.[0]);
  const observation = read('additional-bindings-observation.json') as unknown as Resource & { code: { coding: { system: string; code: string }[] } };

  t.test('a code outside the additional required value set is an error', async (t) => {
    t.same(errors(v.validate(observation, { profiles: [profile.url] })), ['Observation.code']);
  });

  t.test('the code the value set holds passes; without the profile nothing is checked', async (t) => {
    const inSet = { ...observation, code: { coding: [{ system: 'http://loinc.org', code: '100065-2' }] } };
    t.same(errors(v.validate(inSet, { profiles: [profile.url] })), []);
    t.same(errors(v.validate(observation)), []);
  });
}
