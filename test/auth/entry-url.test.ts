// Bundle entries are checked as they run (one reading of request.url), and the AuditEvents a
// clinical store may hold (loaded before the trail was on) are read only under an AuditEvent scope.
import t from 'tap';
import type { Resource } from 'fhir/r4.js';
import { createIn } from '../../src/rest/write-ops.js';
import { prepare } from '../../src/rest/prepare.js';
import { condition, startAuthServer, type AuthTestServer } from './helpers.js';

let s: AuthTestServer;
let admin: string;
let B: string;

const forged = (id?: string) => ({
  resourceType: 'AuditEvent',
  ...(id ? { id } : {}),
  type: { code: 'rest' },
  recorded: '2025-01-01T00:00:00Z',
  agent: [{ requestor: true, who: { display: 'forged' } }],
  source: { observer: { display: 'x' } },
  entity: [{ what: { reference: 'Patient/pa' } }],
});
const types = (b: { entry?: Array<{ resource?: { resourceType: string } }> }) => (b.entry ?? []).map((e) => e.resource?.resourceType);

t.before(async () => {
  s = await startAuthServer();
  B = s.base;
  admin = await s.token({ scope: 'system/*.cruds', client_id: 'admin' });
  for (const r of [{ resourceType: 'Patient', id: 'pa' }, condition('ca1', 'pa', 'problem-list-item', '111')]) {
    const res = await s.as(admin, 'PUT', `${B}/${r.resourceType}/${r.id}`, r);
    if (res.status >= 300) throw new Error(`seed: ${res.status} ${res.text}`);
  }
  const prov = { resourceType: 'Provenance', id: 'prov1', target: [{ reference: 'AuditEvent/old1' }, { reference: 'Patient/pa' }], recorded: '2025-01-01T00:00:00Z', agent: [{ who: { display: 'x' } }] };
  if ((await s.as(admin, 'PUT', `${B}/Provenance/prov1`, prov)).status !== 201) throw new Error('seed: Provenance');
  // An AuditEvent in the clinical store, as data loaded before the trail was on leaves it (written outside a request).
  const svc = s.srv.built.services;
  await svc.store.transact((tx) => createIn(tx, svc, prepare(svc, forged() as Resource), undefined, 'old1'));
});
t.teardown(() => s.close());

t.test("an entry url of '/' + the base is refused by the checks and the processing alike", async (t) => {
  const abs = `/${B}/AuditEvent`;
  const batch = await s.as(admin, 'POST', B, {
    resourceType: 'Bundle',
    type: 'batch',
    entry: [
      { resource: forged(), request: { method: 'POST', url: 'AuditEvent' } },
      { resource: forged(), request: { method: 'POST', url: abs } },
      { resource: { resourceType: 'Basic', code: { text: 'beside' } }, request: { method: 'POST', url: `${B}/Basic` } },
    ],
  });
  t.equal(batch.status, 200);
  t.equal(batch.body.entry[0].response.status, '405', 'AuditEvent write: 405');
  t.equal(batch.body.entry[1].response.status, '400', "'/' + BASE_URL: not relative to this server");
  t.match(batch.body.entry[1].response.outcome.issue[0].diagnostics, /Bundle\.entry\[1\]\.request\.url .* not a URL relative/);
  t.equal(batch.body.entry[2].response.status, '201 Created', 'the absolute URL of this server still works');
  const tx = await s.as(admin, 'POST', B, { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: forged(), request: { method: 'POST', url: abs } }] });
  t.equal(tx.status, 400, 'a transaction with such an entry is refused whole');
  const sys = await s.token({ scope: 'system/*.cruds system/AuditEvent.rs', client_id: 'admin' });
  const trail = await s.as(sys, 'GET', `${B}?_type=AuditEvent`);
  t.same(trail.body.entry?.map((e: { resource: { id: string } }) => e.resource.id), ['old1'], 'nothing was written into the clinical store');

  const searchOnly = await s.token({ scope: 'patient/Condition.s', patient: 'pa' });
  t.equal((await s.as(searchOnly, 'GET', `${B}/Condition/ca1`)).status, 403, 'a read needs r');
  for (const url of [`/${B}/Condition/ca1`, `${B}/Condition/ca1`, 'Condition/ca1', '/Condition/ca1', 'Condition/%63a1']) {
    const b = await s.as(searchOnly, 'POST', B, { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url } }] });
    t.notOk(b.body.entry[0].resource, `${url}: no resource`);
    t.match(b.body.entry[0].response.status, /^40[03]$/, `${url}: refused`);
  }
  const ok = await s.as(searchOnly, 'POST', B, { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: `${B}/Condition?patient=pa` } }] });
  t.equal(ok.body.entry[0].response.status, '200', 'the search it may do runs');
});

t.test('AuditEvents in the clinical store need an explicit AuditEvent scope on every read path', async (t) => {
  const wide = await s.token({ scope: 'system/*.rs', client_id: 'wide' });
  const pat = await s.token({ scope: 'patient/*.rs', patient: 'pa' });
  const user = await s.token({ scope: 'user/*.rs', fhirUser: 'Patient/pa' });
  for (const [name, tok] of [['system/*.rs', wide], ['patient/*.rs', pat], ['user/*.rs', user]] as const) {
    for (const url of [`${B}?_type=AuditEvent`, `${B}/Patient/pa/AuditEvent`, `${B}/AuditEvent/old1/_history/1`, `${B}/AuditEvent/old1/_history`]) {
      t.equal((await s.as(tok, 'GET', url)).status, 403, `${name}: ${url.slice(B.length)} is a 403`);
    }
    for (const url of [
      `${B}/Patient?_id=pa&_revinclude=AuditEvent:patient`,
      `${B}/Patient?_id=pa&_revinclude=AuditEvent:entity`,
      `${B}/Provenance?_include=Provenance:target`,
      `${B}/Patient/pa/*`,
      `${B}/_history?_count=1000`,
      `${B}?_count=1000`,
      `${B}/Patient/pa/*?_type=Patient,AuditEvent`,
    ]) {
      const r = await s.as(tok, 'GET', url);
      if (r.status !== 200) {
        t.equal(r.status, 403, `${name}: ${url.slice(B.length)} refused`);
        continue;
      }
      t.notOk(types(r.body).includes('AuditEvent'), `${name}: ${url.slice(B.length)} holds no AuditEvent`);
    }
    const b = await s.as(tok, 'POST', B, { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'AuditEvent/old1/_history/1' } }, { request: { method: 'GET', url: 'AuditEvent?_id=old1' } }] });
    t.same(b.body.entry.map((e: { response: { status: string } }) => e.response.status), ['403', '403'], `${name}: batch GET entries refused`);
  }
  const all = await s.as(wide, 'GET', `${B}/_history?_count=0`);
  const withAudit = await s.token({ scope: 'system/*.rs system/AuditEvent.rs', client_id: 'auditor' });
  const allWithAudit = await s.as(withAudit, 'GET', `${B}/_history?_count=0`);
  t.equal(all.body.total + 1, allWithAudit.body.total, "the system history's total leaves the AuditEvent out too");
  t.same((await s.as(withAudit, 'GET', `${B}?_type=AuditEvent`)).body.entry.length, 1, 'an explicit AuditEvent scope reads it');
  t.ok(types((await s.as(withAudit, 'GET', `${B}/Patient?_id=pa&_revinclude=AuditEvent:patient`)).body).includes('AuditEvent'), '... also as _revinclude');
  // vread is no AuditEvent interaction at all (the trail keeps no history): refused alike.
  const vread = await s.as(withAudit, 'GET', `${B}/AuditEvent/old1/_history/1`);
  t.same([vread.status, vread.body.issue[0].code], [404, 'not-supported'], '... but not vread, which the trail does not serve');
  // The scope check on writes: `*` does not cover AuditEvent either.
  t.equal((await s.as(admin, 'PUT', `${B}/AuditEvent/old1`, forged('old1'))).status, 405, 'the trail refuses writes first');
});
