import t from 'tap';
import type { CodeSystem, OperationOutcomeIssue } from 'fhir/r4.js';
import { createValidator } from '../../src/validation/validator.js';

// A CodeSystem supplement only adds to another code system: it cannot be a Coding's system (HL7 cases supplement-1, -1b).
const supplement: CodeSystem = {
  resourceType: 'CodeSystem',
  url: 'http://example.org/CodeSystem/lab-extra',
  status: 'active',
  content: 'complete',
  supplements: 'http://example.org/CodeSystem/lab',
  concept: [{ code: 'x1', display: 'Extra' }],
};
const base: CodeSystem = { resourceType: 'CodeSystem', url: 'http://example.org/CodeSystem/lab', status: 'active', content: 'complete', concept: [{ code: 'x1' }] };
const v = (await createValidator()).extend([supplement, base]);
const errors = (issues: OperationOutcomeIssue[]) => issues.filter((i) => i.severity === 'error').map((i) => i.expression?.[0]);
const observation = (system: string) => ({ resourceType: 'Observation', status: 'final', code: { coding: [{ system, code: 'x1' }] } });

t.test('a supplement as Coding.system is an error; the code system it supplements is fine', async (t) => {
  t.same(errors(v.validate(observation(supplement.url as string))), ['Observation.code.coding[0].system']);
  t.same(errors(v.validate(observation(base.url as string))), []);
});
