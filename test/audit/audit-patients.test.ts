// The audit record names the patient(s) whose data a request read or wrote, whatever the token,
// and the resources conditional writes and bundle entries resolved to.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { condition, startAuthServer, type AuthTestServer } from '../auth/helpers.js';

type Event = { entity?: Array<{ what?: { reference?: string }; role?: { code?: string }; description?: string }>; extension?: Array<{ valueString?: string }> };

let s: AuthTestServer;
t.before(async () => {
  s = await startAuthServer();
});
t.teardown(() => s.close());

const obs = (id: string, patient: string, extra: object = {}) => ({ resourceType: 'Observation', id, status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${patient}` }, ...extra });

t.test('patients and entities of reads, searches, operations, conditional writes and bundle entries', async (t) => {
  const admin = await s.token({ scope: 'system/*.cruds', client_id: 'seed' });
  for (const r of [
    { resourceType: 'Practitioner', id: 'doc2' },
    { resourceType: 'Patient', id: 'pa' },
    { resourceType: 'Patient', id: 'pb', generalPractitioner: [{ reference: 'Practitioner/doc2' }] },
    condition('cb1', 'pb', 'problem-list-item', '221'),
    obs('obs-pa', 'pa'),
    obs('obs-c1', 'pb', { identifier: [{ system: 'urn:x', value: 'c1' }] }),
  ])
    t.equal((await s.as(admin, 'PUT', `${s.base}/${r.resourceType}/${r.id}`, r)).status, 201);
  const sys = await s.token({ scope: 'system/*.rs', client_id: 'd6-sys' });
  const user = await s.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/doc2', client_id: 'd6-user' });
  const pat = await s.token({ scope: 'patient/*.rs', patient: 'pa', client_id: 'd6-pat' });
  const tag = (id: string) => ({ 'x-request-id': id });
  t.equal((await s.as(sys, 'GET', `${s.base}/Condition/cb1`, undefined, tag('d6-read'))).status, 200);
  t.equal((await s.as(sys, 'GET', `${s.base}/Condition?patient=pb`, undefined, tag('d6-search'))).status, 200);
  t.equal((await s.as(sys, 'GET', `${s.base}/Observation?subject=${encodeURIComponent(s.base + '/Patient/pb')},Patient/pa&code=x`, undefined, tag('d6-search2'))).status, 200);
  t.equal((await s.as(sys, 'GET', `${s.base}/Condition?subject.name=Beta`, undefined, tag('d6-chain'))).status, 200);
  await s.as(sys, 'POST', `${s.base}/$ccm-billing`, { resourceType: 'Parameters', parameter: [{ name: 'month', valueString: '2025-03' }, { name: 'patient', valueReference: { reference: 'Patient/pb' } }] }, tag('d6-billing'));
  t.equal((await s.as(user, 'GET', `${s.base}/Condition/cb1`, undefined, tag('d6-user'))).status, 200);
  t.equal((await s.as(pat, 'GET', `${s.base}/Observation/obs-pa`, undefined, tag('d6-pat'))).status, 200);
  const cu = await s.as(admin, 'PUT', `${s.base}/Observation?_id=obs-pa`, obs('obs-pa', 'pa', { status: 'amended' }), tag('d6-cupdate'));
  t.equal(cu.status, 200);
  t.equal((await s.as(admin, 'DELETE', `${s.base}/Observation?identifier=urn:x|c1`, undefined, tag('d6-cdelete'))).status, 204);
  const batch = await s.as(admin, 'POST', s.base, {
    resourceType: 'Bundle',
    type: 'batch',
    entry: [
      { resource: { ...condition('x', 'pb', 'problem-list-item', '9'), id: undefined }, request: { method: 'POST', url: 'Condition' } },
      { request: { method: 'GET', url: 'Condition/cb1' } },
    ],
  }, tag('d6-batch'));
  t.equal(batch.status, 200);
  const createdId = String(batch.body.entry[0].response.location).split('/')[1];
  const tx = await s.as(admin, 'POST', s.base, { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: obs('ignored', 'pa'), request: { method: 'POST', url: 'Observation' } }] }, tag('d6-tx'));
  t.equal(tx.status, 200);
  const txId = String(tx.body.entry[0].response.location).split('/')[1];
  await sleep(150);

  const auditor = await s.token({ scope: 'system/AuditEvent.rs', client_id: 'auditor' });
  const about = async (patient: string) => {
    const r = await s.as(auditor, 'GET', `${s.base}/AuditEvent?patient=Patient/${patient}&_count=500`);
    return new Map((r.body.entry as Array<{ resource: Event }>).map((e) => [e.resource.extension![0].valueString!, e.resource]));
  };
  const pb = await about('pb');
  const pa = await about('pa');
  for (const id of ['d6-read', 'd6-search', 'd6-search2', 'd6-billing', 'd6-user', 'd6-cdelete', 'd6-batch']) t.ok(pb.has(id), `${id} is about pb`);
  for (const id of ['d6-search2', 'd6-pat', 'd6-cupdate', 'd6-tx']) t.ok(pa.has(id), `${id} is about pa`);
  t.notOk(pb.has('d6-chain'), 'a chained search names no patient (its value is a name, never recorded)');
  t.notOk(pa.has('d6-read'), 'a read of pb is not about pa');
  const refs = (e: Event | undefined) => (e?.entity ?? []).filter((x) => x.role?.code === '4').map((x) => `${x.what?.reference}${x.description ? ' ' + x.description : ''}`);
  t.same(refs(pa.get('d6-cupdate')), ['Observation/obs-pa'], 'a conditional update names the resource it updated');
  t.same(refs(pb.get('d6-cdelete')), ['Observation/obs-c1'], 'a conditional delete names the resource it deleted');
  t.same(refs(pb.get('d6-batch')).sort(), ['Condition/cb1 read', `Condition/${createdId} create`].sort(), 'a batch names the resource its entry created');
  t.same(refs(pa.get('d6-tx')), [`Observation/${txId} create`], 'so does a transaction');
  const patientsOf = (e: Event | undefined) => (e?.entity ?? []).filter((x) => x.role?.code === '1').map((x) => x.what?.reference);
  t.same(patientsOf(pb.get('d6-user')), ['Patient/pb']);
  t.same(patientsOf(pa.get('d6-search2')).sort(), ['Patient/pa', 'Patient/pb'], 'a search naming two patients names both');
});
