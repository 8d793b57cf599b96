import { mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { AuditEvent } from 'fhir/r4.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { auditKeys, parseAuditQuery } from '../../src/audit/audit-query.js';
import { auditRecordFor, type AuditInput } from '../../src/audit/events.js';
import { expandAudit, recordKeys } from '../../src/audit/record.js';
import type { AuthContext } from '../../src/auth/context.js';
import { classify, splitFhirUrl } from '../../src/auth/interactions.js';

// The audit record: what the file trail stores per request, expanded to the AuditEvent on read.

function input(method: string, url: string, status: number, ctx?: Partial<AuthContext>, extra: Partial<AuditInput> = {}): AuditInput {
  const f = splitFhirUrl(url, '/fhir')!;
  return { interaction: classify(method, f.parts, f.query), status, ctx: ctx as AuthContext | undefined, query: f.query, requestId: 'req-1', sourceAddress: '10.0.0.9', baseUrl: 'https://ehr.example/fhir', serverName: 'ccm-fhir-server', method, ...extra };
}

const entries = ['PUT Patient/a', 'GET Patient/a', 'POST Patient', 'DELETE Condition/c', 'PUT Patient/a'].map((s) => {
  const [m, u] = s.split(' ');
  return classify(m, u.split('/'), new URLSearchParams());
});

const cases: Array<[string, AuditInput]> = [
  ['read, no token', input('GET', '/fhir/Patient/p1', 200)],
  ['search with a client', input('GET', '/fhir/Condition?patient=Patient/p1&_count=5', 200, { clientId: 'app' })],
  ['compartment search by a practitioner user', input('GET', '/fhir/Patient/p1/Condition?code=x', 200, { clientId: 'app', fhirUser: 'Practitioner/d1', subject: 'u1' })],
  ['operation by a patient user', input('GET', '/fhir/Patient/p2/$ccm-billing?month=2026-01', 403, { clientId: 'app', fhirUser: 'Patient/p2', patient: 'p2' })],
  ['subject without fhirUser', input('DELETE', '/fhir/Condition/c1', 404, { clientId: 'app', subject: 'svc-7' })],
  ['subject equal to the client', input('GET', '/fhir/Observation/_history', 200, { clientId: 'app', subject: 'app' })],
  ['create', input('POST', '/fhir/Patient', 201, { clientId: 'app' }, { location: 'https://ehr.example/fhir/Patient/new1/_history/1' })],
  ['batch', input('POST', '/fhir', 200, { clientId: 'app' }, { code: 'batch', entries })],
  ['token request', { ...input('POST', '/fhir', 200), interaction: { code: 'token', action: 'E', needs: [], public: true }, tokenClient: 'app-t' }],
  ['server error', input('GET', '/fhir/$ccm-billing?month=2026-01', 500, { clientId: 'app' })],
];

t.test('the expanded record is the request\'s AuditEvent; its keys are those of the AuditEvent', async (t) => {
  for (const [name, a] of cases) {
    const r = auditRecordFor(a);
    const e = expandAudit(r);
    t.same(recordKeys(r), auditKeys(e), `${name}: keys`);
    t.equal(e.recorded, r.t, `${name}: recorded`);
    t.ok(JSON.stringify(r).length < JSON.stringify(e).length / 2, `${name}: the record is less than half the event's size`);
  }
  const batch = expandAudit(auditRecordFor(cases[7][1]));
  t.same(
    batch.entity?.map((en) => [en.what?.reference, en.description]),
    [['Patient/a', 'update'], ['Condition/c', 'delete']],
    'batch entries: Type/id once each, with their interaction; entries without an id are not named',
  );
  const op = expandAudit(auditRecordFor(cases[3][1]));
  t.same(op.subtype, [{ system: 'urn:ccm-fhir-server:audit-subtype', code: '$ccm-billing' }]);
  t.equal(op.outcome, '4');
  t.same(op.agent.map((g) => g.who), [{ identifier: { system: 'urn:ietf:params:oauth:client-id', value: 'app' } }, { reference: 'Patient/p2' }, { display: 'ccm-fhir-server' }]);
  t.equal(Buffer.from(op.entity!.find((en) => en.query)!.query!, 'base64').toString(), 'GET $ccm-billing?month=*', 'the query, values redacted (the patient is its own entity)');
  t.equal(op.entity!.at(-1)!.what?.reference, 'Patient/p2');
  const search = expandAudit(auditRecordFor(cases[1][1]));
  t.equal(Buffer.from(search.entity![0].query!, 'base64').toString(), 'GET Condition?patient=*&_count=5', 'result parameters are kept, others redacted');
  t.equal(search.agent[0].network?.address, '10.0.0.9');
});

t.test('a search names the patients its patient, subject and Patient _id values point to, and no others', async (t) => {
  const patientsOf = (url: string) => {
    const p = auditRecordFor(input('GET', url, 200)).p;
    return p === undefined ? [] : Array.isArray(p) ? [...p].sort() : [p];
  };
  const B = encodeURIComponent('https://ehr.example/fhir');
  t.same(patientsOf('/fhir/Condition?patient=Patient/a&clinical-status=active'), ['a']);
  t.same(patientsOf('/fhir/Condition?patient=a,Patient/b'), ['a', 'b'], 'a bare id and Type/id');
  t.same(patientsOf(`/fhir/Condition?patient=${B}%2FPatient%2Fc`), ['c'], 'an absolute URL on this base');
  t.same(patientsOf('/fhir/Condition?patient=https://other.example/fhir/Patient/d'), [], 'on another base: no id of ours');
  t.same(patientsOf(`/fhir/Condition?patient=${B}xPatient/d`), [], 'a URL that only starts like the base');
  t.same(patientsOf('/fhir/Observation?subject=Patient/e&subject:Patient=f'), ['e', 'f'], 'subject as Patient/id, or with :Patient');
  t.same(patientsOf('/fhir/Observation?subject=g'), [], 'a bare subject may be any type');
  t.same(patientsOf('/fhir/Observation?subject:Group=h&patient:missing=true&patient.name=x'), [], 'other modifiers and chains name none');
  t.same(patientsOf('/fhir/Patient?_id=i,j'), ['i', 'j'], '_id of a Patient search');
  t.same(patientsOf('/fhir/Condition?_id=k'), [], '_id of another type');
  t.same(patientsOf('/fhir/Condition?patientx=Patient/l&subjects=Patient/m&_idx=n'), [], 'names that only start like them');
  t.same(patientsOf('/fhir/Condition?patient=Patient/bad%22id'), [], 'not a FHIR id');
  // As the engine reads them: a versioned reference searches its resource; what it refuses or cannot match names no one.
  t.same(patientsOf('/fhir/Condition?patient=Patient/o/_history/2'), ['o'], 'a versioned reference: the search is about Patient/o');
  t.same(patientsOf('/fhir/Patient?_id=Patient/q'), [], "_id takes ids, not references: the search matches nothing");
  t.same(patientsOf('/fhir/Observation?subject:Patient:x=r'), [], "a modifier 'Patient:x' is refused by the search");
});

t.test('the file trail stores records and reads them back as AuditEvents, next to whole AuditEvents of earlier versions', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-record-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = new AuditLog(dir);
  await log.init();
  const records = cases.map(([, a]) => auditRecordFor(a));
  const day = records[0].t.slice(0, 10);
  const legacy: AuditEvent = { ...expandAudit(auditRecordFor(input('GET', '/fhir/Patient/p1', 200, { clientId: 'old-app' }))), id: 'legacy-1' };
  log.append(legacy);
  for (const r of records) log.append(r);
  await log.flush();
  const lines = readFileSync(join(dir, `${day}.ndjson`), 'utf8').trim().split('\n');
  t.equal(lines.length, records.length + 1);
  t.ok(lines.slice(1).every((l) => !l.includes('"resourceType"')), 'records are stored, not whole events');
  t.ok(lines.slice(1).every((l) => l.length < 700), 'a record line stays short');

  const check = async (log: AuditLog, label: string) => {
    const all = await log.search(parseAuditQuery(new URLSearchParams('_count=100'), 1000));
    t.equal(all.total, records.length + 1, `${label}: every entry`);
    const byId = new Map(all.events.map((e) => [e.id, e]));
    for (const r of records) t.same(byId.get(r.id), expandAudit(r), `${label}: ${r.id.slice(0, 8)} reads back as its AuditEvent`);
    t.same(byId.get('legacy-1'), legacy, `${label}: the whole AuditEvent reads back as written`);
    t.same((await log.search(parseAuditQuery(new URLSearchParams('patient=p1'), 1000))).events.map((e) => e.id).sort(), [records[0].id, records[1].id, records[2].id, 'legacy-1'].sort(), `${label}: patient search over both kinds (the search patient=Patient/p1 is about p1)`);
    t.same((await log.search(parseAuditQuery(new URLSearchParams('agent=old-app'), 1000))).events.map((e) => e.id), ['legacy-1'], `${label}: agent of the whole event`);
    t.same((await log.read(records[5].id))?.id, records[5].id, `${label}: read by id`);
  };
  await check(log, 'written');
  await log.close();

  // Without its key file the day is re-indexed from the stored lines.
  unlinkSync(join(dir, `${day}.keys.ndjson`));
  const again = new AuditLog(dir);
  await again.init();
  await check(again, 'rebuilt');
  await again.close();
});
