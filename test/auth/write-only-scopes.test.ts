import t from 'tap';
import { type AuthTestServer, condition, seeder, startAuthServer } from './helpers.js';

// SMART v2: u allows update and patch, d delete, without r. The write reads the version it
// replaces itself, still confined to the token's compartments, and shows nothing it may not change.
let s: AuthTestServer;
let B: string;
let admin: string;

const JSON_PATCH = { 'content-type': 'application/json-patch+json' };
const onset = [{ op: 'add', path: '/onsetString', value: 'childhood' }];

t.before(async () => {
  s = await startAuthServer();
  B = s.base;
  admin = await s.token({ scope: 'system/*.cruds', client_id: 'admin' });
  const put = seeder(s, admin);
  await put({ resourceType: 'Practitioner', id: 'doc1' } as never);
  await put({ resourceType: 'Patient', id: 'pa', generalPractitioner: [{ reference: 'Practitioner/doc1' }] } as never);
  await put({ resourceType: 'Patient', id: 'pb' } as never);
  for (const id of ['u1', 'u2', 'u3', 'd1', 'd2', 'd3', 'd4', 'gone']) await put(condition(id, 'pa', 'problem-list-item', '111'));
  await put(condition('b1', 'pb', 'problem-list-item', '222'));
  if ((await s.as(admin, 'DELETE', `${B}/Condition/gone`)).status !== 204) throw new Error('seed: delete Condition/gone');
});
t.teardown(() => s.close());

t.test('u without r: update and patch the token’s own patient’s resources', async (t) => {
  const u = await s.token({ scope: 'patient/Condition.u', patient: 'pa' });
  t.equal((await s.as(u, 'GET', `${B}/Condition/u1`)).status, 403, 'no read');
  const put = await s.as(u, 'PUT', `${B}/Condition/u1`, { ...condition('u1', 'pa', 'problem-list-item', '112') });
  t.equal(put.status, 200, 'update');
  t.equal(put.headers.etag, 'W/"2"');
  const patch = await s.as(u, 'PATCH', `${B}/Condition/u1`, onset, { ...JSON_PATCH, prefer: 'return=representation' });
  t.equal(patch.status, 200, 'patch');
  t.equal(patch.text, '', 'a patch answers without the resource, which holds content the token did not send');
  t.equal(patch.headers.etag, 'W/"3"', 'but with its version');
  const probe = await s.as(u, 'PATCH', `${B}/Condition/u1`, [{ op: 'test', path: '/code/coding/0/code', value: '112' }, ...onset], JSON_PATCH);
  t.equal(probe.status, 403, 'a JSON Patch test reads what is stored: refused without r');
  t.equal((await s.as(admin, 'GET', `${B}/Condition/u1`)).body.meta.versionId, '3', 'and nothing was written');
  const reader = await s.token({ scope: 'patient/Condition.ru', patient: 'pa' });
  const seen = await s.as(reader, 'PATCH', `${B}/Condition/u2`, [{ op: 'test', path: '/id', value: 'u2' }, ...onset], JSON_PATCH);
  t.same([seen.status, seen.body?.id], [200, 'u2'], 'with r, test ops and the representation as before');
  const stale = await s.as(u, 'PUT', `${B}/Condition/u1`, condition('u1', 'pa', 'problem-list-item', '113'), { 'if-match': 'W/"1"' });
  t.equal(stale.status, 412, 'If-Match on an earlier version');
  t.match(stale.body.issue[0].diagnostics, /Condition\/u1 is at version 3, not 1/);
  t.equal((await s.as(u, 'PUT', `${B}/Condition/u1`, condition('u1', 'pa', 'problem-list-item', '113'), { 'if-match': 'W/"3"' })).status, 200, 'If-Match on the current version');
  const v1 = await s.token({ scope: 'patient/*.write', patient: 'pa' });
  t.equal((await s.as(v1, 'PATCH', `${B}/Condition/u2`, onset, JSON_PATCH)).status, 200, 'v1 patient/*.write: patch');
  const sys = await s.token({ scope: 'system/Condition.cud' });
  t.equal((await s.as(sys, 'PUT', `${B}/Condition/u3`, condition('u3', 'pa', 'problem-list-item', '114'))).status, 200, 'system/Condition.cud: update');
  t.equal((await s.as(admin, 'GET', `${B}/Condition/u3`)).body.code.coding[0].code, '114', 'written');
});

t.test('u without r: another patient’s resource stays out of reach, and unseen', async (t) => {
  const u = await s.token({ scope: 'patient/Condition.u', patient: 'pa' });
  t.equal((await s.as(u, 'PUT', `${B}/Condition/b1`, condition('b1', 'pa', 'problem-list-item', '222'))).status, 403, "PUT to pb's id: 403, as with r");
  t.equal((await s.as(u, 'PATCH', `${B}/Condition/b1`, onset, JSON_PATCH)).status, 404, "patch of pb's resource: not known");
  t.equal((await s.as(u, 'PATCH', `${B}/Condition/none`, onset, JSON_PATCH)).status, 404, 'as for one that does not exist');
  const ifMatch = await s.as(u, 'PUT', `${B}/Condition/b1`, condition('b1', 'pa', 'problem-list-item', '222'), { 'if-match': 'W/"1"' });
  t.equal(ifMatch.status, 412, "If-Match on pb's resource");
  t.match(ifMatch.body.issue[0].diagnostics, /does not exist/, 'as for an id that does not exist: no version shown');
  t.equal((await s.as(admin, 'GET', `${B}/Condition/b1`)).body.meta.versionId, '1', 'unchanged');
});

t.test('d without r: delete', async (t) => {
  const d = await s.token({ scope: 'patient/Condition.d', patient: 'pa' });
  t.equal((await s.as(d, 'DELETE', `${B}/Condition/d1`)).status, 204, 'patient/Condition.d');
  t.equal((await s.as(d, 'DELETE', `${B}/Condition/b1`)).status, 404, "another patient's resource: not known");
  t.equal((await s.as(admin, 'GET', `${B}/Condition/b1`)).status, 200, 'and not deleted');
  const sys = await s.token({ scope: 'system/Condition.d' });
  t.equal((await s.as(sys, 'DELETE', `${B}/Condition/d2`)).status, 204, 'system/Condition.d');
  t.equal((await s.as(sys, 'DELETE', `${B}/Condition/d2`)).status, 204, 'again: already deleted');
  const user = await s.token({ scope: 'user/Condition.d', fhirUser: 'Practitioner/doc1' });
  t.equal((await s.as(user, 'DELETE', `${B}/Condition/d3`)).status, 204, 'user/Condition.d, a panel patient');
  const v1 = await s.token({ scope: 'system/*.write' });
  t.equal((await s.as(v1, 'DELETE', `${B}/Condition/d4`)).status, 204, 'v1 system/*.write');
  for (const id of ['d1', 'd2', 'd3', 'd4']) t.equal((await s.as(admin, 'GET', `${B}/Condition/${id}`)).status, 410, `${id} deleted`);
});

t.test('a PUT over a deletion the token cannot see creates, instead of a 409 asking to retry', async (t) => {
  const paw = await s.token({ scope: 'patient/*.cruds', patient: 'pa' });
  const r = await s.as(paw, 'PUT', `${B}/Condition/gone`, condition('gone', 'pa', 'problem-list-item', '115'));
  t.equal(r.status, 201, 'created, as a new id would be');
  t.equal(r.headers.etag, 'W/"3"', 'after the deletion');
});
