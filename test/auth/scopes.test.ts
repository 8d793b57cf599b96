import t from 'tap';
import { grantsFor, parseScope, parseScopes } from '../../src/auth/scopes.js';

const perms = (s: string) => [...(parseScope(s)?.perms ?? [])].sort().join('');

t.test('v1 and v2 scopes', async (t) => {
  t.equal(perms('system/Condition.read'), 'rs');
  t.equal(perms('patient/*.write'), 'cdu');
  t.equal(perms('user/*.*'), 'cdrsu');
  t.equal(perms('system/Condition.rs'), 'rs');
  t.equal(perms('patient/CarePlan.cruds'), 'cdrsu');
  t.equal(perms('system/Condition.c'), 'c');
  const q = parseScope('patient/Condition.rs?category=http://terminology.hl7.org/CodeSystem/condition-category|problem-list-item');
  t.same(q?.params, [['category', 'http://terminology.hl7.org/CodeSystem/condition-category|problem-list-item']]);
  t.equal(q?.context, 'patient');
  t.equal(q?.type, 'Condition');
});

t.test('malformed and non-resource scopes are ignored', async (t) => {
  for (const s of ['openid', 'fhirUser', 'launch/patient', 'offline_access', 'system/Condition.sr', 'system/Condition.', 'system/condition.rs', 'admin/*.*', 'system/Condition.read?category=x', 'system/Condition.rsx', 'system/Condition.rs?category=', 'system/Condition.rs?category=x&status=', 'system/Condition.rs?'])
    t.equal(parseScope(s), undefined, s);
});

t.test('patient/ scopes need a patient context', async (t) => {
  t.equal(parseScopes('patient/*.rs system/Patient.r', undefined).length, 1);
  t.equal(parseScopes('patient/*.rs system/Patient.r', 'p1').length, 2);
  const grants = parseScopes('system/Condition.rs system/*.c', undefined);
  t.equal(grantsFor(grants, 'Condition', 's').length, 1);
  t.equal(grantsFor(grants, 'Patient', 'c').length, 1);
  t.equal(grantsFor(grants, 'Patient', 'r').length, 0);
});
