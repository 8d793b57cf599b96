// A v2 restriction made of result parameters selects nothing: like an empty value (README, Scopes),
// it makes the scope grant nothing instead of the whole type.
import t from 'tap';
import { parseScope } from '../../src/auth/scopes.js';
import { condition, startAuthServer, type AuthTestServer } from './helpers.js';

t.test('a restriction with a result parameter grants nothing', async (t) => {
  for (const s of ['patient/Condition.rs?_summary=count', 'system/Condition.rs?_sort=date', 'system/Condition.rs?_count=1', 'system/Condition.rs?category=problem-list-item&_sort=date', 'system/Condition.rs?_include:iterate=Condition:subject', 'system/Condition.rs?_elements=id'])
    t.equal(parseScope(s), undefined, s);
  t.same(parseScope('system/Condition.rs?category=problem-list-item')?.params, [['category', 'problem-list-item']], 'a search parameter restricts as before');
});

t.test('served: such a scope reads and searches nothing', async (t) => {
  const s: AuthTestServer = await startAuthServer();
  t.teardown(() => s.close());
  const admin = await s.token({ scope: 'system/*.cruds' });
  for (const r of [{ resourceType: 'Patient', id: 'pa' }, condition('ca1', 'pa', 'problem-list-item', '111'), condition('ca2', 'pa', 'encounter-diagnosis', '112')])
    t.equal((await s.as(admin, 'PUT', `${s.base}/${r.resourceType}/${r.id}`, r)).status, 201);
  for (const scope of ['patient/Condition.rs?_summary=count', 'patient/Condition.rs?_sort=date']) {
    const tok = await s.token({ scope, patient: 'pa' });
    t.equal((await s.as(tok, 'GET', `${s.base}/Condition/ca2`)).status, 403, `${scope}: read refused`);
    t.equal((await s.as(tok, 'GET', `${s.base}/Condition?patient=pa`)).status, 403, `${scope}: search refused`);
  }
  const both = await s.token({ scope: 'patient/Condition.rs?_sort=date patient/Condition.rs?category=problem-list-item', patient: 'pa' });
  t.equal((await s.as(both, 'GET', `${s.base}/Condition/ca1`)).status, 200, 'a real restriction beside it still grants its resources');
  t.equal((await s.as(both, 'GET', `${s.base}/Condition/ca2`)).status, 404, 'and only those');
});
