import t from 'tap';
import { condition, startAuthServer, type AuthTestServer } from './helpers.js';

// Registering a new Patient adds it to the registering user's panel: it must not reach data that
// other resources already hold about that id.
let s: AuthTestServer;
let B: string;
let admin: string;
let dr: string;

t.before(async () => {
  s = await startAuthServer();
  B = s.base;
  admin = await s.token({ scope: 'system/*.cruds', client_id: 'admin' });
  dr = await s.token({ scope: 'user/*.cruds', fhirUser: 'Practitioner/doc1' });
  for (const r of [{ resourceType: 'Practitioner', id: 'doc1' }, condition('cg', 'ghost', 'problem-list-item', '44054006')]) {
    const res = await s.as(admin, 'PUT', `${B}/${r.resourceType}/${r.id}`, r);
    if (res.status >= 300) throw new Error(`seed: ${res.status} ${res.text}`);
  }
});
t.teardown(() => s.close());

t.test('a user cannot claim data already written about a patient id by registering that id', async (t) => {
  t.equal((await s.as(dr, 'GET', `${B}/Condition/cg`)).status, 404, 'outside the panel');
  const ghost = { resourceType: 'Patient', id: 'ghost', generalPractitioner: [{ reference: 'Practitioner/doc1' }] };
  t.equal((await s.as(dr, 'PUT', `${B}/Patient/ghost`, ghost)).status, 403, 'PUT Patient/ghost names a patient outside the panel');
  const claim = await s.as(dr, 'PUT', `${B}/Patient?identifier=none`, ghost);
  t.equal(claim.status, 403, 'a conditional update creating Patient/ghost, which a Condition already names');
  t.match(claim.body.issue?.[0]?.diagnostics, /Patient\/ghost/);
  t.equal((await s.as(dr, 'GET', `${B}/Condition/cg`)).status, 404, 'still outside the panel');
  t.equal((await s.as(admin, 'GET', `${B}/Patient/ghost`)).status, 404, 'nothing was written');
  const fresh = await s.as(dr, 'PUT', `${B}/Patient?identifier=none`, { resourceType: 'Patient', id: 'fresh', generalPractitioner: [{ reference: 'Practitioner/doc1' }] });
  t.equal(fresh.status, 201, 'an id nothing names can be registered');
  t.equal((await s.as(dr, 'POST', `${B}/Condition`, { ...condition('x', 'fresh', 'problem-list-item', '1'), id: undefined })).status, 201, 'and then written for');
});
