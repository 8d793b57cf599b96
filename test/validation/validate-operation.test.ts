import t from 'tap';
import { runValidateOperation } from '../../src/operations/validate.js';
import { createValidator } from '../../src/validation/validator.js';

const validator = await createValidator();
const patient = { resourceType: 'Patient', id: 'p1', gender: 'female' };
const errors = (o: { issue: { severity: string }[] }) => o.issue.filter((i) => i.severity === 'error').length;

t.test('plain resource body', async (t) => {
  const ok = runValidateOperation(validator, { type: 'Patient', body: patient });
  t.equal(ok.status, 200);
  t.equal(errors(ok.outcome), 0);
  const bad = runValidateOperation(validator, { type: 'Patient', body: { ...patient, birthDate: '2020-02-30' } });
  t.equal(bad.status, 200, 'an invalid resource is still a successful $validate');
  t.equal(bad.outcome.issue.find((i) => i.severity === 'error')?.expression?.[0], 'Patient.birthDate');
});

t.test('Parameters body with resource, mode and profile', async (t) => {
  const body = {
    resourceType: 'Parameters',
    parameter: [
      { name: 'resource', resource: { ...patient, gender: 'x' } },
      { name: 'mode', valueCode: 'create' },
    ],
  };
  const r = runValidateOperation(validator, { type: 'Patient', body });
  t.equal(r.status, 200);
  t.equal(r.outcome.issue.find((i) => i.severity === 'error')?.expression?.[0], 'Patient.gender');
  const unknown = runValidateOperation(validator, { type: 'Patient', body: patient, query: [['profile', 'http://example.org/none']] });
  t.equal(unknown.status, 400, 'unknown profile');
  const known = runValidateOperation(validator, {
    type: 'Observation',
    body: { resourceType: 'Observation', status: 'final', code: { text: 'x' } },
    query: [['profile', 'http://hl7.org/fhir/StructureDefinition/vitalsigns']],
  });
  t.equal(known.status, 200);
  t.ok(errors(known.outcome) > 0, 'checked against the requested profile (vitalsigns needs category, subject, effective)');
});

t.test('modes and bad requests', async (t) => {
  t.equal(runValidateOperation(validator, { type: 'Patient', body: patient, query: [['mode', 'bogus']] }).status, 400);
  const odd = runValidateOperation(validator, { type: 'Patient', body: patient, query: [['profle', 'http://hl7.org/fhir/StructureDefinition/vitalsigns']] });
  t.equal(odd.status, 400, 'an unknown parameter is refused, not ignored');
  t.match(odd.outcome.issue[0].diagnostics, 'profle');
  t.equal(runValidateOperation(validator, { type: 'Observation', body: patient }).status, 400, 'type mismatch');
  t.equal(runValidateOperation(validator, { type: 'Patient', body: undefined }).status, 400, 'no resource');
  const update = runValidateOperation(validator, { type: 'Patient', id: 'other', body: patient, query: [['mode', 'update']] });
  t.equal(update.outcome.issue.find((i) => i.severity === 'error')?.expression?.[0], 'Patient.id', 'id must match the URL');
  const del = runValidateOperation(validator, { type: 'Patient', id: 'p1', body: undefined, query: [['mode', 'delete']] });
  t.equal(del.status, 200);
});

t.test('a malformed Parameters body is a 400 result naming the part, not a throw', async (t) => {
  const r = runValidateOperation(validator, { type: 'Patient', body: { resourceType: 'Parameters', parameter: [{ name: 'profile', valueUri: 5 }] } });
  t.equal(r.status, 400);
  t.same(r.outcome.issue[0].expression, ['Parameters.parameter[0].valueUri']);
  const asResource = runValidateOperation(validator, { type: 'Parameters', body: { resourceType: 'Parameters', parameter: { name: 'x' } } });
  t.equal(asResource.status, 200, 'Parameters/$validate: the body is the resource, its errors are issues');
  t.ok(errors(asResource.outcome) > 0);
});
