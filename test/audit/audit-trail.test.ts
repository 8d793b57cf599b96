import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { Config } from '../../src/config.js';
import { fhir, startServer } from '../helpers/server.js';
import { startAuthServer, type AuthTestServer } from '../auth/helpers.js';

/** Everything the audit trail holds, as text: the NDJSON file, or the MongoDB collection when MONGODB_URI is set. */
async function storedText(config: Config): Promise<string> {
  if (!config.mongodbUri) {
    const dir = join(config.dataDir, 'audit');
    return readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
  }
  const { MongoClient } = await import('mongodb');
  const c = new MongoClient(config.mongodbUri);
  try {
    await c.connect();
    const docs = await c.db(config.mongodbDb).collection('audit_events').find({}).toArray();
    if (docs.length === 0) throw new Error('no audit events in MongoDB');
    return docs.map((d) => JSON.stringify(d)).join('\n');
  } finally {
    await c.close();
  }
}

type Event = {
  resourceType: string;
  subtype: Array<{ code: string }>;
  action: string;
  outcome: string;
  recorded: string;
  agent: Array<{ who?: { identifier?: { value?: string }; reference?: string }; requestor: boolean }>;
  source: { observer: { display: string } };
  entity?: Array<{ what?: { reference?: string }; query?: string }>;
};

let s: AuthTestServer;
t.before(async () => {
  s = await startAuthServer();
});
t.teardown(() => s.close());

t.test('every request leaves an AuditEvent, allowed and refused, without bodies or names', async (t) => {
  const writer = await s.token({ scope: 'system/Patient.cruds', client_id: 'writer-app', sub: 'user-7', fhirUser: 'Practitioner/pr9' });
  const created = await s.as(writer, 'PUT', `${s.base}/Patient/p1`, { resourceType: 'Patient', id: 'p1', name: [{ family: 'Zebulonsky' }], identifier: [{ system: 'urn:mrn', value: 'MRN-778899' }] });
  t.equal(created.status, 201);
  t.equal((await s.as(writer, 'GET', `${s.base}/Patient?name=Zebulonsky`)).status, 200);
  const formSearch = await s.as(writer, 'POST', `${s.base}/Patient/_search?gender=other`, 'family=Zebulonsky&_count=2', { 'content-type': 'application/x-www-form-urlencoded' });
  t.equal(formSearch.status, 200);
  const reader = await s.token({ scope: 'system/Condition.rs', client_id: 'reader-app' });
  t.equal((await s.as(reader, 'GET', `${s.base}/Patient/p1`)).status, 403, 'refused: scope');
  t.equal((await fhir('GET', `${s.base}/Patient/p1`)).status, 401, 'refused: no token');
  const made = await s.as(writer, 'POST', `${s.base}/Patient`, { resourceType: 'Patient', name: [{ family: 'Zebulonsky' }] });
  t.equal(made.status, 201);
  const madeId = String(made.headers.location).split('/Patient/')[1].split('/')[0];
  const tx = await s.as(writer, 'POST', s.base, {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [{ resource: { resourceType: 'Patient', id: 'p2', name: [{ family: 'Zebulonsky' }] }, request: { method: 'PUT', url: 'Patient/p2' } }],
  });
  t.equal(tx.status, 200);
  const pt = await s.token({ scope: 'patient/*.rs', client_id: 'patient-app', patient: 'p1' });
  t.equal((await s.as(pt, 'GET', `${s.base}/Patient/p1`)).status, 200);
  await sleep(100);

  const auditor = await s.token({ scope: 'system/AuditEvent.rs', client_id: 'auditor' });
  const all = await s.as(auditor, 'GET', `${s.base}/AuditEvent?_count=100`);
  t.equal(all.status, 200);
  const events = (all.body.entry as Array<{ resource: Event }>).map((e) => e.resource);
  const byClient = (c: string) => events.filter((e) => e.agent.some((a) => a.who?.identifier?.value === c));

  const put = byClient('writer-app').find((e) => e.subtype[0].code === 'update')!;
  t.ok(put, 'the update is audited');
  t.equal(put.action, 'U');
  t.equal(put.outcome, '0');
  t.equal(put.source.observer.display, 'ccm-fhir-server');
  t.ok(put.agent.some((a) => a.who?.reference === 'Practitioner/pr9'), 'the user (fhirUser) is an agent');
  t.ok(put.entity?.some((x) => x.what?.reference === 'Patient/p1'), 'entity is Type/id');
  const searches = byClient('writer-app').filter((e) => e.subtype[0].code === 'search-type').map((e) => Buffer.from(e.entity!.find((x) => x.query)!.query!, 'base64').toString());
  t.ok(searches.includes('GET Patient?name=*'), 'the query is kept with values redacted');
  t.ok(searches.includes('POST Patient?gender=*&family=*&_count=2'), `a POST _search records its form parameters too: ${searches.join(' | ')}`);

  const create = byClient('writer-app').find((e) => e.subtype[0].code === 'create')!;
  t.equal(create.action, 'C');
  t.ok(create.entity?.some((x) => x.what?.reference === `Patient/${madeId}`), 'a create names the new resource');
  const txEvent = byClient('writer-app').find((e) => e.subtype[0].code === 'transaction')!;
  t.ok(txEvent.entity?.some((x) => x.what?.reference === 'Patient/p2'), 'a transaction names its entries');
  const refused = byClient('reader-app')[0];
  t.equal(refused.outcome, '4', 'the 403 is audited as a failure');
  t.equal(refused.subtype[0].code, 'read');
  const anonymous = events.find((e) => e.outcome === '4' && e.agent.some((a) => (a.who as { display?: string } | undefined)?.display === 'unauthenticated client'));
  t.ok(anonymous, 'the 401 is audited');
  const patient = byClient('patient-app')[0];
  t.ok(patient.entity?.some((x) => x.what?.reference === 'Patient/p1'), 'the patient of a patient token is an entity');

  const text = await storedText(s.srv.config);
  t.notMatch(text, /Zebulonsky/, 'no name in the audit trail');
  t.notMatch(text, /MRN-778899/, 'no identifier in the audit trail');
  t.notMatch(text, /"resourceType":"Patient"/, 'no resource body in the audit trail');

  const filtered = await s.as(auditor, 'GET', `${s.base}/AuditEvent?agent=reader-app&outcome=4`);
  t.equal(filtered.body.total, 1, 'search by agent and outcome');
  // R4 token search on a code: system|code names the element's (implicit) code system.
  const withSystem = await s.as(auditor, 'GET', `${s.base}/AuditEvent?agent=reader-app&outcome=${encodeURIComponent('http://hl7.org/fhir/audit-event-outcome|4')}`);
  t.equal(withSystem.body.total, 1, 'outcome as system|code');
  const otherSystem = await s.as(auditor, 'GET', `${s.base}/AuditEvent?agent=reader-app&outcome=${encodeURIComponent('http://example.org/other|4')}`);
  t.equal(otherSystem.body.total, 0, 'outcome in another system: nothing');
  const noSystem = await s.as(auditor, 'GET', `${s.base}/AuditEvent?agent=reader-app&outcome=${encodeURIComponent('|4')}`);
  t.equal(noSystem.body.total, 0, 'outcome |code (no system): nothing, the code has its system');
  const byPatient = await s.as(auditor, 'GET', `${s.base}/AuditEvent?patient=p1`);
  t.ok(byPatient.body.total >= 3, 'search by patient');
  const one = await s.as(auditor, 'GET', `${s.base}/AuditEvent/${(put as unknown as { id: string }).id}`);
  t.equal(one.status, 200);
  t.equal(one.body.resourceType, 'AuditEvent');
  t.equal((await s.as(auditor, 'GET', `${s.base}/AuditEvent/no-such-event`)).status, 404);

  const today = new Date().toISOString().slice(0, 10);
  const day = await s.as(auditor, 'GET', `${s.base}/AuditEvent?date=${today}&agent=writer-app&subtype=update`);
  t.equal(day.body.total, 1, 'search by day, agent and subtype');
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  t.equal((await s.as(auditor, 'GET', `${s.base}/AuditEvent?date=${yesterday}`)).body.total, 0, 'another day: nothing');
  t.equal((await s.as(auditor, 'GET', `${s.base}/AuditEvent?date=ge${yesterday}&date=lt${today}`)).body.total, 0, 'a range that ends before today');
  const limited = await s.as(auditor, 'GET', `${s.base}/AuditEvent?agent=writer-app&_count=2`);
  t.equal(limited.body.entry.length, 2, '_count limits the page');
  t.ok(limited.body.total > 2, 'total counts every match');
  const times = limited.body.entry.map((e: { resource: Event }) => e.resource.recorded);
  t.ok(times[0] >= times[1], 'newest first');
  t.equal((await s.as(auditor, 'GET', `${s.base}/AuditEvent?entity=Patient/p2&action=E`)).body.total, 1, 'search by entity and action (the transaction)');
  t.equal((await s.as(auditor, 'GET', `${s.base}/AuditEvent?entity=Patient/p2&action=${encodeURIComponent('http://hl7.org/fhir/audit-event-action|E')}`)).body.total, 1, 'action as system|code');
  // As on every search, a parameter with no value is ignored (search.html#errors), and left out of the self link.
  const empty = await s.as(auditor, 'GET', `${s.base}/AuditEvent?agent=&agent=writer-app&_count=2`);
  t.equal(empty.status, 200);
  t.equal(empty.body.total, limited.body.total, 'agent= is ignored');
  t.equal(empty.body.link[0].url, `${s.base}/AuditEvent?agent=writer-app&_count=2`);
  for (const bad of ['name=x', 'date=yesterday', 'date=2026-13-01', 'agent:missing=true', '_sort=date', '_count=2&_count=3']) {
    const r = await s.as(auditor, 'GET', `${s.base}/AuditEvent?${bad}`);
    t.equal(r.status, 400, `unsupported or malformed: ${bad} -> 400`);
    t.equal(r.body.resourceType, 'OperationOutcome');
  }
});

t.test('the audit trail is apart from clinical data and needs an audit scope', async (t) => {
  const wide = await s.token({ scope: 'system/*.cruds', client_id: 'admin' });
  const r = await s.as(wide, 'GET', `${s.base}/AuditEvent`);
  t.equal(r.status, 403, 'system/*.cruds is not an audit scope');
  const pt = await s.token({ scope: 'patient/AuditEvent.rs', patient: 'p1' });
  t.equal((await s.as(pt, 'GET', `${s.base}/AuditEvent`)).status, 403, 'patient/ scopes do not read the audit trail');
  const clinical = await s.as(wide, 'GET', `${s.base}/Patient`);
  t.notOk((clinical.body.entry ?? []).some((e: { resource: { resourceType: string } }) => e.resource.resourceType === 'AuditEvent'));
});

t.test("a user/ AuditEvent scope reads only the events about the user's patients", async (t) => {
  const admin = await s.token({ scope: 'system/*.cruds', client_id: 'admin' });
  t.equal((await s.as(admin, 'PUT', `${s.base}/Practitioner/aud-dr`, { resourceType: 'Practitioner', id: 'aud-dr' })).status, 201);
  t.equal((await s.as(admin, 'PUT', `${s.base}/Patient/p3`, { resourceType: 'Patient', id: 'p3', generalPractitioner: [{ reference: 'Practitioner/aud-dr' }] })).status, 201);
  t.equal((await s.as(admin, 'GET', `${s.base}/Patient/p3`)).status, 200);
  await sleep(100);
  const user = await s.token({ scope: 'user/AuditEvent.rs', fhirUser: 'Practitioner/aud-dr' });
  const mine = await s.as(user, 'GET', `${s.base}/AuditEvent?_count=100`);
  t.equal(mine.status, 200);
  const events = (mine.body.entry as Array<{ resource: Event & { id: string } }>).map((e) => e.resource);
  t.ok(events.length >= 2, "the events about the user's patient");
  t.ok(events.every((e) => e.entity?.some((x) => x.what?.reference === 'Patient/p3')), 'and only those');
  t.equal((await s.as(user, 'GET', `${s.base}/AuditEvent?patient=p1`)).body.total, 0, "another patient's events: none");
  t.equal((await s.as(user, 'GET', `${s.base}/AuditEvent/${events[0].id}`)).status, 200, 'read of an own event');
  const auditor = await s.token({ scope: 'system/AuditEvent.rs' });
  const other = await s.as(auditor, 'GET', `${s.base}/AuditEvent?patient=p1&_count=1`);
  t.equal((await s.as(user, 'GET', `${s.base}/AuditEvent/${other.body.entry[0].resource.id}`)).status, 404, "read of another patient's event: 404");
});

t.test('AuditEvent belongs to the trail: no client writes, POST _search, CapabilityStatement', async (t) => {
  const admin = await s.token({ scope: 'system/*.cruds system/AuditEvent.rs', client_id: 'admin' });
  const forged = { resourceType: 'AuditEvent', id: 'forged', type: { code: 'rest' }, recorded: new Date().toISOString(), agent: [{ requestor: true }], source: { observer: { display: 'x' } } };
  t.equal((await s.as(admin, 'POST', `${s.base}/AuditEvent`, forged)).status, 405, 'create refused');
  t.equal((await s.as(admin, 'PUT', `${s.base}/AuditEvent/forged`, forged)).status, 405, 'update refused');
  const tx = await s.as(admin, 'POST', s.base, { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: forged, request: { method: 'PUT', url: 'AuditEvent/forged' } }] });
  t.equal(tx.status, 405, 'a transaction entry writing an AuditEvent refused');
  // A batch's entries are independent: the AuditEvent entry is refused alone, the others run.
  const batch = await s.as(admin, 'POST', s.base, { resourceType: 'Bundle', type: 'batch', entry: [
    { resource: forged, request: { method: 'PUT', url: 'AuditEvent/forged' } },
    { resource: { resourceType: 'Basic', code: { text: 'beside a forged AuditEvent' } }, request: { method: 'POST', url: 'Basic' } },
  ] });
  t.equal(batch.status, 200, 'a batch with an AuditEvent write is answered entry by entry');
  t.equal(batch.body.entry[0].response.status, '405');
  t.equal(batch.body.entry[0].response.outcome.issue[0].code, 'not-supported');
  t.equal(batch.body.entry[1].response.status, '201 Created', 'the other entry ran');
  t.equal((await s.as(admin, 'GET', `${s.base}/AuditEvent/forged`)).status, 404, 'nothing was written');
  const viaPost = await fhir('POST', `${s.base}/AuditEvent/_search`, 'subtype=read&_count=1', { authorization: `Bearer ${admin}`, 'content-type': 'application/x-www-form-urlencoded' });
  t.equal(viaPost.status, 200, 'POST _search');
  const viaGet = await s.as(admin, 'GET', `${s.base}/AuditEvent?subtype=read&_count=1`);
  t.equal(viaPost.body.total, viaGet.body.total, 'POST _search = GET search');
  const cap = await fhir('GET', `${s.base}/metadata`);
  const entry = cap.body.rest[0].resource.find((r: { type: string }) => r.type === 'AuditEvent');
  t.same(entry.interaction.map((i: { code: string }) => i.code), ['read', 'search-type'], 'CapabilityStatement: read and search only');
  t.same(entry.searchParam.map((p: { name: string }) => p.name).sort(), ['_id', 'action', 'agent', 'date', 'entity', 'outcome', 'patient', 'subtype'], 'exactly the parameters the trail serves');
  t.notOk(entry.searchParam.some((p: { name: string }) => ['site', 'source', 'type', 'policy'].includes(p.name)), 'no others');
});

t.test('auth off (local development): the trail is written and readable', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  t.equal((await fhir('GET', `${srv.base}/Patient`)).status, 200);
  await sleep(100);
  const r = await fhir('GET', `${srv.base}/AuditEvent?subtype=search-type`);
  t.equal(r.status, 200);
  t.equal(r.body.total, 1);
});

t.test('a search narrowed by a query-restricted scope is audited as the search that ran', async (t) => {
  const narrow = await s.token({ scope: 'system/Condition.rs?category=encounter-diagnosis', client_id: 'narrow-app' });
  t.equal((await s.as(narrow, 'GET', `${s.base}/Condition?_count=5`)).status, 200);
  await sleep(100);
  const auditor = await s.token({ scope: 'system/AuditEvent.rs', client_id: 'auditor' });
  const all = await s.as(auditor, 'GET', `${s.base}/AuditEvent?_count=200`);
  const events = (all.body.entry as Array<{ resource: Event }>).map((e) => e.resource);
  const search = events.find((e) => e.agent.some((a) => a.who?.identifier?.value === 'narrow-app') && e.subtype[0].code === 'search-type')!;
  t.ok(search, 'the search is audited');
  const query = Buffer.from(search.entity!.find((x) => x.query)!.query!, 'base64').toString();
  t.equal(query, 'GET Condition?_count=5&category=*', "the scope's restriction is part of the recorded query");
});
