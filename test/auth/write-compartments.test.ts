import t from 'tap';
import { type AuthTestServer, condition, seeder, startAuthServer } from './helpers.js';

// A write under patient/ or user/ scopes may put a resource into the compartments of the token's
// patients only: a resource is in the compartment of every patient one of its compartment
// parameters names (R4 CompartmentDefinition), so being in one of them is not enough.
let s: AuthTestServer;
let B: string;
let admin: string;
/** patient/*.cruds for pa. */
let paw: string;
/** user/*.cruds for Practitioner/doc1, whose panel is {pa}. */
let dr: string;

const PL = 'http://terminology.hl7.org/CodeSystem/condition-category';
/** A problem-list Condition of `patient` asserted by `asserter` (no id: for POST). */
const asserted = (patient: string, asserter: string, id?: string) => {
  const { id: _, ...c } = condition('x', patient, 'problem-list-item', '44054006');
  return { ...c, ...(id ? { id } : {}), asserter: { reference: `Patient/${asserter}` } };
};
const team = (subject: string, members: string[]) => ({
  resourceType: 'CareTeam',
  status: 'active',
  subject: { reference: `Patient/${subject}` },
  participant: members.map((m) => ({ member: { reference: m } })),
});

t.before(async () => {
  s = await startAuthServer();
  B = s.base;
  admin = await s.token({ scope: 'system/*.cruds', client_id: 'admin' });
  paw = await s.token({ scope: 'patient/*.cruds', patient: 'pa' });
  dr = await s.token({ scope: 'user/*.cruds', fhirUser: 'Practitioner/doc1' });
  const put = seeder(s, admin);
  for (const id of ['doc1', 'doc2']) await put({ resourceType: 'Practitioner', id });
  await put({ resourceType: 'Patient', id: 'pa', generalPractitioner: [{ reference: 'Practitioner/doc1' }] } as never);
  await put({ resourceType: 'Patient', id: 'pb', generalPractitioner: [{ reference: 'Practitioner/doc2' }] } as never);
  await put(condition('cb', 'pb', 'problem-list-item', '38341003'));
  // pb's condition asserted by pa: in both compartments.
  await put(asserted('pb', 'pa', 'cab') as never);
});
t.teardown(() => s.close());

t.test('a new resource also in another patient’s compartment is a 403 naming that patient', async (t) => {
  const cond = await s.as(paw, 'POST', `${B}/Condition`, asserted('pb', 'pa'));
  t.equal(cond.status, 403, 'Condition with subject pb, asserter pa');
  t.match(cond.body.issue[0].diagnostics, /compartment of Patient\/pb/);
  const obs = { resourceType: 'Observation', status: 'final', code: { text: 'Injected' }, subject: { reference: 'Patient/pb' }, performer: [{ reference: 'Patient/pa' }] };
  t.equal((await s.as(paw, 'POST', `${B}/Observation`, obs)).status, 403, 'Observation with subject pb, performer pa');
  t.equal((await s.as(paw, 'PUT', `${B}/Observation/inj1`, { ...obs, id: 'inj1' })).status, 403, 'the same by PUT');
  t.equal((await s.as(dr, 'POST', `${B}/Condition`, asserted('pb', 'pa'))).status, 403, 'a user/ token: the same');
  const group = { resourceType: 'Group', type: 'person', actual: true, member: [{ entity: { reference: 'Patient/pa' } }, { entity: { reference: 'Patient/pb' } }] };
  t.equal((await s.as(paw, 'POST', `${B}/Group`, group)).status, 403, 'Group with members pa and pb');
  const coverage = { resourceType: 'Coverage', status: 'active', beneficiary: { reference: 'Patient/pa' }, subscriber: { reference: 'Patient/pb' }, payor: [{ reference: 'Patient/pa' }] };
  t.equal((await s.as(paw, 'POST', `${B}/Coverage`, coverage)).status, 403, 'Coverage of pa whose subscriber is pb');
  const linked = await s.as(paw, 'PUT', `${B}/Patient/pa`, { resourceType: 'Patient', id: 'pa', generalPractitioner: [{ reference: 'Practitioner/doc1' }], link: [{ other: { reference: 'Patient/pb' }, type: 'seealso' }] });
  t.equal(linked.status, 403, 'a Patient linked to pb is in pb’s compartment');
  const tx = { resourceType: 'Bundle', type: 'transaction', entry: [{ fullUrl: 'urn:uuid:1', resource: asserted('pb', 'pa'), request: { method: 'POST', url: 'Condition' } }] };
  t.equal((await s.as(paw, 'POST', B, tx)).status, 403, 'a transaction entry: the transaction is refused');
  const check = await s.as(admin, 'GET', `${B}/Condition?subject=Patient/pb`);
  t.same(check.body.entry.map((e: { resource: { id: string } }) => e.resource.id).sort(), ['cab', 'cb'], 'nothing was written for pb');
});

t.test('a care team cannot make a practitioner another patient’s carer', async (t) => {
  const byUser = await s.as(dr, 'POST', `${B}/CareTeam`, team('pb', ['Practitioner/doc1', 'Patient/pa']));
  t.equal(byUser.status, 403, 'the user adding itself to pb’s care team through a panel patient');
  t.match(byUser.body.issue[0].diagnostics, /Patient\/pb/);
  t.equal((await s.as(dr, 'GET', `${B}/Patient/pb`)).status, 403, 'pb stays outside the panel');
  t.equal((await s.as(paw, 'POST', `${B}/CareTeam`, team('pb', ['Patient/pa', 'Practitioner/doc1']))).status, 403, 'a patient/ token doing it for doc1');
  const doc1 = await s.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/doc1' });
  t.equal((await s.as(doc1, 'GET', `${B}/Condition/cb`)).status, 404, 'doc1 still cannot read pb’s condition');
  t.equal((await s.as(paw, 'POST', `${B}/CareTeam`, team('pa', ['Patient/pa', 'Patient/pb']))).status, 403, 'pa’s team listing pb is in pb’s compartment');
});

t.test('an existing resource also in another patient’s compartment is not changed or deleted', async (t) => {
  t.equal((await s.as(paw, 'GET', `${B}/Condition/cab`)).status, 200, 'it is read, as R4 puts it in pa’s compartment');
  const upd = await s.as(paw, 'PUT', `${B}/Condition/cab`, asserted('pa', 'pa', 'cab'));
  t.equal(upd.status, 403, 'update (even into pa’s compartment alone)');
  t.match(upd.body.issue[0].diagnostics, /Condition\/cab is also in the compartment of Patient\/pb/);
  t.equal((await s.as(paw, 'PATCH', `${B}/Condition/cab`, [{ op: 'add', path: '/onsetString', value: 'x' }], { 'content-type': 'application/json-patch+json' })).status, 403, 'patch');
  t.equal((await s.as(paw, 'DELETE', `${B}/Condition/cab`)).status, 403, 'delete');
  t.equal((await s.as(admin, 'GET', `${B}/Condition/cab`)).body.meta.versionId, '1', 'unchanged');
});

t.test('writes inside the token’s patients’ compartments still work', async (t) => {
  t.equal((await s.as(paw, 'POST', `${B}/Condition`, asserted('pa', 'pa'))).status, 201, 'pa’s condition asserted by pa');
  t.equal((await s.as(paw, 'POST', `${B}/CareTeam`, team('pa', ['Patient/pa', 'Practitioner/doc2']))).status, 201, 'pa’s own care team, with a practitioner');
  t.equal((await s.as(dr, 'POST', `${B}/CareTeam`, team('pa', ['Practitioner/doc1', 'Patient/pa']))).status, 201, 'a panel patient’s care team');
  const reg = await s.as(dr, 'POST', `${B}/Patient`, { resourceType: 'Patient', generalPractitioner: [{ reference: 'Practitioner/doc1' }] });
  t.equal(reg.status, 201, 'registering a new patient');
  const regLinked = await s.as(dr, 'POST', `${B}/Patient`, { resourceType: 'Patient', generalPractitioner: [{ reference: 'Practitioner/doc1' }], link: [{ other: { reference: 'Patient/pb' }, type: 'seealso' }] });
  t.equal(regLinked.status, 403, 'but not one linked to an outside patient');
  t.equal((await s.as(paw, 'PUT', `${B}/Condition/new-pa`, { ...condition('new-pa', 'pa', 'problem-list-item', '1'), category: [{ coding: [{ system: PL, code: 'problem-list-item' }] }] })).status, 201, 'PUT-create for pa');
});
