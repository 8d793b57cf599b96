import t from 'tap';
import { condition, ids, PL, startAuthServer, type AuthTestServer } from './helpers.js';

// user/ scopes under the default USER_ACCESS=care-team: a Practitioner user reaches the patients
// whose general practitioner it is or whose active care team it is a current member of.
const careTeam = (id: string, patient: string, member: string, extra: Record<string, unknown> = {}, period?: { start?: string; end?: string }) => ({
  resourceType: 'CareTeam',
  id,
  status: 'active',
  subject: { reference: `Patient/${patient}` },
  participant: [{ member: { reference: member }, ...(period ? { period } : {}) }],
  ...extra,
});

let s: AuthTestServer;
let admin: string;
let dr: string;
let B: string;

async function put(r: { resourceType: string; id: string }) {
  const res = await s.as(admin, 'PUT', `${B}/${r.resourceType}/${r.id}`, r);
  if (res.status >= 300) throw new Error(`seed ${r.resourceType}/${r.id}: ${res.status} ${res.text}`);
}

t.before(async () => {
  s = await startAuthServer();
  B = s.base;
  admin = await s.token({ scope: 'system/*.cruds', client_id: 'admin' });
  dr = await s.token({ scope: 'user/*.cruds', fhirUser: 'Practitioner/dr', sub: 'dr-login' });
  for (const id of ['dr', 'dr2']) await put({ resourceType: 'Practitioner', id });
  await put({ resourceType: 'PractitionerRole', id: 'role1', practitioner: { reference: 'Practitioner/dr2' } } as never);
  await put({ resourceType: 'Patient', id: 'p1', name: [{ family: 'One' }], generalPractitioner: [{ reference: 'Practitioner/dr' }] } as never);
  for (const [id, family] of [['p2', 'Two'], ['p3', 'Three'], ['p4', 'Four']]) await put({ resourceType: 'Patient', id, name: [{ family }] } as never);
  await put(careTeam('ct2', 'p2', 'Practitioner/dr'));
  await put(careTeam('ct3', 'p3', 'Practitioner/dr', { status: 'inactive' }));
  await put(careTeam('ct3b', 'p3', 'Practitioner/dr', {}, { start: '2020-01-01', end: '2021-01-01' }));
  await put(careTeam('ct4', 'p4', 'PractitionerRole/role1'));
  await put(condition('c1', 'p1', 'problem-list-item', '111'));
  await put(condition('c1b', 'p1', 'encounter-diagnosis', '112'));
  await put(condition('c2', 'p2', 'problem-list-item', '222'));
  await put(condition('c3', 'p3', 'problem-list-item', '333'));
  await put(condition('c4', 'p4', 'problem-list-item', '444'));
  // dr took part in p4's encounter: in dr's own Practitioner compartment, p4 stays outside dr's panel.
  await put({ resourceType: 'Encounter', id: 'e4', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/p4' }, participant: [{ individual: { reference: 'Practitioner/dr' } }] } as never);
  await put({ resourceType: 'RelatedPerson', id: 'rp3', active: true, patient: { reference: 'Patient/p3' } } as never);
});
t.teardown(() => s.close());

t.test('read: patients in the panel (general practitioner, active care team), not the others', async (t) => {
  t.equal((await s.as(dr, 'GET', `${B}/Condition/c1`)).status, 200, 'general practitioner: read');
  t.equal((await s.as(dr, 'GET', `${B}/Condition/c2`)).status, 200, 'care team member: read');
  t.equal((await s.as(dr, 'GET', `${B}/Condition/c3`)).status, 404, 'inactive care team / ended participation: refused');
  t.equal((await s.as(dr, 'GET', `${B}/Condition/c4`)).status, 404, 'not cared for: refused');
  t.equal((await s.as(dr, 'GET', `${B}/Patient/p2`)).status, 200);
  const other = await s.as(dr, 'GET', `${B}/Patient/p3`);
  t.equal(other.status, 403, 'Patient outside the panel: 403');
  t.match(other.body.issue[0].diagnostics, /cares for/);
  t.equal((await s.as(dr, 'GET', `${B}/Condition/c4/_history/1`)).status, 404, 'vread outside the panel');
  t.equal((await s.as(dr, 'GET', `${B}/Encounter/e4`)).status, 200, "own Practitioner compartment: the encounter dr took part in");
  t.equal((await s.as(dr, 'GET', `${B}/Practitioner/dr2`)).status, 200, 'shared reference types are readable');
});

t.test('search, _include, _revinclude, chain, _has, compartment and system search', async (t) => {
  t.same(ids((await s.as(dr, 'GET', `${B}/Condition`)).body), ['Condition/c1', 'Condition/c1b', 'Condition/c2'], 'search: panel only');
  t.equal((await s.as(dr, 'GET', `${B}/Condition`)).body.total, 3, 'total counts the panel only');
  t.same(ids((await s.as(dr, 'GET', `${B}/Patient`)).body), ['Patient/p1', 'Patient/p2'], 'Patient search: panel');
  t.same(ids((await s.as(dr, 'GET', `${B}/Condition?subject=Patient/p4`)).body), [], 'naming an outside patient finds nothing');
  const inc = await s.as(dr, 'GET', `${B}/Condition?code=111,444&_include=Condition:subject`);
  t.same(ids(inc.body), ['Condition/c1', 'Patient/p1'], '_include: panel only');
  const encInc = await s.as(dr, 'GET', `${B}/Encounter?_include=Encounter:subject`);
  t.same(ids(encInc.body), ['Encounter/e4'], "_include from the user's own encounter does not reach the outside patient");
  const rev = await s.as(dr, 'GET', `${B}/Patient?_revinclude=Condition:subject`);
  t.same(ids(rev.body), ['Condition/c1', 'Condition/c1b', 'Condition/c2', 'Patient/p1', 'Patient/p2'], '_revinclude: panel only');
  t.same(ids((await s.as(dr, 'GET', `${B}/Patient?_id=p4&_revinclude=Condition:subject`)).body), [], '_revinclude from an outside patient: nothing');
  t.same(ids((await s.as(dr, 'GET', `${B}/Condition?subject:Patient.family=One`)).body), ['Condition/c1', 'Condition/c1b'], 'chain into the panel');
  t.same(ids((await s.as(dr, 'GET', `${B}/Condition?subject:Patient.family=Four`)).body), [], 'chain to an outside patient: nothing');
  t.same(ids((await s.as(dr, 'GET', `${B}/Patient?_has:Condition:subject:code=222`)).body), ['Patient/p2'], '_has within the panel');
  t.same(ids((await s.as(dr, 'GET', `${B}/Patient?_has:Condition:subject:code=444`)).body), [], '_has on an outside condition: nothing');
  t.same(ids((await s.as(dr, 'GET', `${B}/Patient/p1/Condition`)).body), ['Condition/c1', 'Condition/c1b'], 'compartment search in the panel');
  t.equal((await s.as(dr, 'GET', `${B}/Patient/p4/Condition`)).status, 403, 'compartment search outside the panel: 403');
  const sys = await s.as(dr, 'GET', `${B}?_type=Condition,Patient&_count=100`);
  t.notOk(ids(sys.body).some((x) => /\/(p3|p4|c3|c4)$/.test(x)), 'system search: nothing of outside patients');
});

t.test('history and bundle entries', async (t) => {
  const hist = await s.as(dr, 'GET', `${B}/Condition/_history`);
  t.ok(hist.body.entry.some((e: { fullUrl: string }) => e.fullUrl.endsWith('/c1')));
  t.notOk(hist.body.entry.some((e: { fullUrl: string }) => /\/(c3|c4)$/.test(e.fullUrl)), 'type history: panel only');
  const inst = await s.as(dr, 'GET', `${B}/Condition/c4/_history`);
  t.equal(inst.status, 404, 'instance history outside the panel: 404, as its read');
  const sysHist = await s.as(dr, 'GET', `${B}/_history?_count=500`);
  t.notOk(sysHist.body.entry.some((e: { fullUrl: string }) => /\/(c3|c4|p3|p4)$/.test(e.fullUrl)), 'system history: panel only');
  const batch = await s.as(dr, 'POST', B, { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Condition/c1' } }, { request: { method: 'GET', url: 'Condition/c4' } }] });
  t.equal(batch.status, 200);
  t.equal(batch.body.entry[0].response.status, '200', 'batch read in the panel');
  t.equal(batch.body.entry[1].response.status, '404', 'batch read outside the panel');
  const tx = (id: string, patient: string) => ({ resourceType: 'Bundle', type: 'transaction', entry: [{ fullUrl: `urn:uuid:${id}`, resource: condition(id, patient, 'problem-list-item', '115'), request: { method: 'POST', url: 'Condition' } }] });
  t.equal((await s.as(dr, 'POST', B, tx('t1', 'p1'))).status, 200, 'transaction entry for a panel patient');
  t.equal((await s.as(dr, 'POST', B, tx('t2', 'p4'))).status, 403, 'transaction entry for an outside patient: 403');
});

t.test('writes: only for patients in the panel; no self-enrolment', async (t) => {
  t.equal((await s.as(dr, 'POST', `${B}/Condition`, condition('n1', 'p2', 'problem-list-item', '116'))).status, 201, 'create for a panel patient');
  t.equal((await s.as(dr, 'POST', `${B}/Condition`, condition('n2', 'p4', 'problem-list-item', '117'))).status, 403, 'create for an outside patient');
  t.equal((await s.as(dr, 'PUT', `${B}/Condition/c4`, condition('c4', 'p1', 'problem-list-item', '444'))).status, 403, "moving an outside patient's condition into the panel");
  t.equal((await s.as(dr, 'PUT', `${B}/Condition/c1`, condition('c1', 'p4', 'problem-list-item', '111'))).status, 403, 'moving a panel condition to an outside patient');
  t.equal((await s.as(dr, 'POST', `${B}/CareTeam`, careTeam('x', 'p4', 'Practitioner/dr'))).status, 403, 'a user cannot add itself to an outside care team');
  t.equal((await s.as(dr, 'PUT', `${B}/Patient/p4`, { resourceType: 'Patient', id: 'p4', generalPractitioner: [{ reference: 'Practitioner/dr' }] })).status, 403, 'nor claim an outside patient');
  const reg = await s.as(dr, 'POST', `${B}/Patient`, { resourceType: 'Patient', generalPractitioner: [{ reference: 'Practitioner/dr' }] });
  t.equal(reg.status, 201, 'registering a new patient with the user as general practitioner');
  t.equal((await s.as(dr, 'POST', `${B}/Patient`, { resourceType: 'Patient' })).status, 403, 'a new patient outside the panel');
  t.equal((await s.as(dr, 'PUT', `${B}/Practitioner/dr2`, { resourceType: 'Practitioner', id: 'dr2' })).status, 403, 'shared types are read-only to user/ grants');
  const check = await s.as(admin, 'GET', `${B}/Condition?subject=Patient/p4`);
  t.same(ids(check.body), ['Condition/c4'], "the outside patient's data is unchanged");
});

t.test('$ccm-billing: panel patients only', async (t) => {
  t.equal((await s.as(dr, 'GET', `${B}/Patient/p1/$ccm-billing?month=2025-03`)).status, 200, 'panel patient');
  t.equal((await s.as(dr, 'GET', `${B}/Patient/p4/$ccm-billing?month=2025-03`)).status, 403, 'outside patient (instance)');
  const body = { resourceType: 'Parameters', parameter: [{ name: 'month', valueString: '2025-03' }, { name: 'patient', valueReference: { reference: 'Patient/p4' } }] };
  t.equal((await s.as(dr, 'POST', `${B}/$ccm-billing`, body)).status, 403, 'outside patient (Parameters)');
});

t.test('access follows the care team: joining and leaving', async (t) => {
  t.equal((await s.as(dr, 'GET', `${B}/Condition/c3`)).status, 404, 'before joining');
  await put(careTeam('ct3', 'p3', 'Practitioner/dr'));
  t.equal((await s.as(dr, 'GET', `${B}/Condition/c3`)).status, 200, 'after the care team becomes active, the same token reads');
  t.ok(ids((await s.as(dr, 'GET', `${B}/Condition`)).body).includes('Condition/c3'), 'and searches');
  await put(careTeam('ct3', 'p3', 'Practitioner/dr', {}, { start: '2020-01-01', end: '2021-06-30' }));
  t.equal((await s.as(dr, 'GET', `${B}/Condition/c3`)).status, 404, "after the participant's period ended");
  await put(careTeam('ct3', 'p3', 'Practitioner/dr2'));
  t.equal((await s.as(dr, 'GET', `${B}/Condition/c3`)).status, 404, 'after being replaced on the team');
  await put({ resourceType: 'Patient', id: 'p1', name: [{ family: 'One' }], generalPractitioner: [{ reference: 'Practitioner/dr2' }] } as never);
  t.equal((await s.as(dr, 'GET', `${B}/Condition/c1`)).status, 404, 'after the general practitioner changed');
  await put({ resourceType: 'Patient', id: 'p1', name: [{ family: 'One' }], generalPractitioner: [{ reference: 'Practitioner/dr' }] } as never);
});

t.test("a Practitioner reaches the care teams of its current PractitionerRoles", async (t) => {
  await put({ resourceType: 'PractitionerRole', id: 'role2', practitioner: { reference: 'Practitioner/dr' } } as never);
  await put({ resourceType: 'PractitionerRole', id: 'role3', active: false, practitioner: { reference: 'Practitioner/dr' } } as never);
  for (const id of ['p5', 'p6']) await put({ resourceType: 'Patient', id } as never);
  await put(careTeam('ct5', 'p5', 'PractitionerRole/role2'));
  await put(careTeam('ct6', 'p6', 'PractitionerRole/role3'));
  await put(condition('c5', 'p5', 'problem-list-item', '555'));
  await put(condition('c6', 'p6', 'problem-list-item', '666'));
  t.equal((await s.as(dr, 'GET', `${B}/Condition/c5`)).status, 200, 'care team lists an active role of the user');
  t.equal((await s.as(dr, 'GET', `${B}/Condition/c6`)).status, 404, 'an inactive role does not count');
  const reg = await s.as(dr, 'POST', `${B}/Patient`, { resourceType: 'Patient', generalPractitioner: [{ reference: 'PractitionerRole/role2' }] });
  t.equal(reg.status, 201, "registering a patient under the user's role");
  await put({ resourceType: 'PractitionerRole', id: 'role2', active: false, practitioner: { reference: 'Practitioner/dr' } } as never);
  t.equal((await s.as(dr, 'GET', `${B}/Condition/c5`)).status, 404, 'once the role ends, access ends');
});

t.test("the user's own Practitioner compartment: what it asserted, not what others did", async (t) => {
  await put({ ...condition('c7', 'p4', 'problem-list-item', '777'), asserter: { reference: 'Practitioner/dr' } } as never);
  await put({ ...condition('c8', 'p4', 'problem-list-item', '888'), asserter: { reference: 'Practitioner/dr2' } } as never);
  t.same(ids((await s.as(dr, 'GET', `${B}/Condition?subject=Patient/p4`)).body), ['Condition/c7'], 'search: the condition dr asserted, of an outside patient');
  t.equal((await s.as(dr, 'GET', `${B}/Condition/c7`)).status, 200);
  t.equal((await s.as(dr, 'GET', `${B}/Condition/c8`)).status, 404, "another practitioner's assertion about an outside patient");
  t.equal((await s.as(dr, 'PUT', `${B}/Condition/c7`, { ...condition('c7', 'p4', 'problem-list-item', '779'), asserter: { reference: 'Practitioner/dr' } })).status, 403, 'readable, but not writable: p4 is outside the panel');
});

t.test('PractitionerRole, Patient and RelatedPerson users', async (t) => {
  const role = await s.token({ scope: 'user/*.rs', fhirUser: 'PractitionerRole/role1' });
  t.equal((await s.as(role, 'GET', `${B}/Condition/c4`)).status, 200, 'role on the care team');
  t.equal((await s.as(role, 'GET', `${B}/Condition/c1`)).status, 404, 'not its patient');
  const pat = await s.token({ scope: 'user/*.rs', fhirUser: `${B}/Patient/p3` });
  t.same(ids((await s.as(pat, 'GET', `${B}/Condition`)).body), ['Condition/c3'], 'a Patient user: its own data (absolute fhirUser)');
  t.equal((await s.as(pat, 'GET', `${B}/Patient/p1`)).status, 403);
  const rel = await s.token({ scope: 'user/*.rs', fhirUser: 'RelatedPerson/rp3' });
  t.same(ids((await s.as(rel, 'GET', `${B}/Condition`)).body), ['Condition/c3'], "a RelatedPerson user: its patient's data");
  await put({ resourceType: 'RelatedPerson', id: 'rp3', active: false, patient: { reference: 'Patient/p3' } } as never);
  t.same(ids((await s.as(rel, 'GET', `${B}/Condition`)).body), [], 'an inactive RelatedPerson: nothing');
});

t.test('tokens without a usable fhirUser reach nothing', async (t) => {
  for (const [name, claims] of [
    ['no fhirUser', {}],
    ['fhirUser on another server', { fhirUser: 'https://other.example/fhir/Practitioner/dr' }],
    ['fhirUser of a type that is no user', { fhirUser: 'Organization/o1' }],
  ] as const) {
    const tok = await s.token({ scope: 'user/*.rs', ...claims });
    const r = await s.as(tok, 'GET', `${B}/Condition`);
    t.equal(r.status, 403, `${name}: 403`);
    t.match(r.body.issue[0].diagnostics, /fhirUser/);
  }
});

t.test('v2 query-restricted user scope', async (t) => {
  const tok = await s.token({ scope: `user/Condition.rs?category=${encodeURIComponent(PL + '|problem-list-item')}`, fhirUser: 'Practitioner/dr' });
  const r = await s.as(tok, 'GET', `${B}/Condition?_count=100`);
  t.notOk(ids(r.body).includes('Condition/c1b'), 'encounter diagnosis left out');
  t.ok(ids(r.body).includes('Condition/c1'), 'problem-list item of the panel');
  t.notOk(ids(r.body).includes('Condition/c4'), 'outside the panel left out');
  t.equal((await s.as(tok, 'GET', `${B}/Condition/c1b`)).status, 404);
});

t.test('the CapabilityStatement describes the user access policy', async (t) => {
  const cap = await s.as(admin, 'GET', `${B}/metadata`);
  t.match(cap.body.rest[0].security.description, /user\/ scopes reach the patients the fhirUser cares for/);
});

t.test('USER_ACCESS=all: user/ scopes reach everything', async (t) => {
  const all = await startAuthServer({ userAccess: 'all' });
  t.teardown(() => all.close());
  const cap = await all.as(await all.token({ scope: 'system/*.rs' }), 'GET', `${all.base}/metadata`);
  t.match(cap.body.rest[0].security.description, /USER_ACCESS=all/);
  const adm = await all.token({ scope: 'system/*.cruds' });
  await all.as(adm, 'PUT', `${all.base}/Patient/q1`, { resourceType: 'Patient', id: 'q1' });
  const tok = await all.token({ scope: 'user/*.rs' });
  t.equal((await all.as(tok, 'GET', `${all.base}/Patient/q1`)).status, 200);
});
