import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { AuditEvent } from 'fhir/r4.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { dateRange, parseAuditQuery } from '../../src/audit/audit-query.js';

// The file audit trail: day partitions, key index, crash repair, migration of the single-file trail.
const event = (id: string, recorded: string, client: string, patient?: string, subtype = 'read'): AuditEvent => ({
  resourceType: 'AuditEvent',
  id,
  type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
  subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: subtype }],
  action: subtype === 'read' ? 'R' : 'E',
  recorded,
  outcome: '0',
  agent: [{ who: { identifier: { system: 'urn:ietf:params:oauth:client-id', value: client } }, requestor: true }],
  source: { observer: { display: 'test' } },
  entity: patient ? [{ what: { reference: `Patient/${patient}` } }] : undefined,
});

const q = (s: string) => parseAuditQuery(new URLSearchParams(s), 1000);
const idsOf = (events: AuditEvent[]) => events.map((e) => e.id);
const cachedDays = (log: AuditLog) => [...(log as unknown as { cache: Map<string, unknown> }).cache.keys()].sort();

function seed(log: AuditLog): void {
  log.append(event('a1', '2026-01-01T10:00:00.000Z', 'app-a', 'p1'));
  log.append(event('a2', '2026-01-01T23:59:59.999Z', 'app-b', 'p2'));
  log.append(event('b1', '2026-01-02T00:00:00.000Z', 'app-a', 'p1', 'search-type'));
  log.append(event('b2', '2026-01-02T12:00:00.000Z', 'app-a', 'p2'));
  log.append(event('c1', '2026-01-03T08:30:00.000Z', 'app-b', 'p1'));
}

t.test('partitions by day; queries answered from the key index, newest first', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = new AuditLog(dir);
  await log.init();
  seed(log);
  await log.flush();
  t.same(readdirSync(dir).filter((f) => !f.includes('.keys.')).sort(), ['2026-01-01.ndjson', '2026-01-02.ndjson', '2026-01-03.ndjson'], 'one event file per UTC day');
  await log.close();

  const fresh = new AuditLog(dir);
  await fresh.init();
  const day = await fresh.search(q('date=2026-01-02'));
  t.same(idsOf(day.events), ['b2', 'b1'], 'one day, newest first');
  t.same(cachedDays(fresh), ['2026-01-02'], 'only that day was opened');
  t.same(idsOf((await fresh.search(q('patient=p1'))).events), ['c1', 'b1', 'a1'], 'by patient over all days');
  t.same(idsOf((await fresh.search(q('patient=Patient/p2&agent=app-a'))).events), ['b2'], 'patient and agent');
  t.same(idsOf((await fresh.search(q('agent=app-b,app-x'))).events), ['c1', 'a2'], 'comma = or');
  t.same(idsOf((await fresh.search(q('subtype=http://hl7.org/fhir/restful-interaction|search-type'))).events), ['b1'], 'subtype system|code');
  t.same(idsOf((await fresh.search(q('date=ge2026-01-01T23:00:00Z&date=lt2026-01-02T12:00:00Z'))).events), ['b1', 'a2'], 'a range across midnight');
  t.same(idsOf((await fresh.search(q('date=gt2026-01-02'))).events), ['c1'], 'gt a day = after it');
  t.same(idsOf((await fresh.search(q('date=le2026-01-01'))).events), ['a2', 'a1'], 'le a day = up to its end');
  const page = await fresh.search(q('_count=2'));
  t.equal(page.total, 5);
  t.same(idsOf(page.events), ['c1', 'b2'], 'a page of the newest across days');
  t.equal((await fresh.read('a2'))?.id, 'a2', 'read by id');
  t.equal(await fresh.read('zz'), undefined);
  await fresh.close();

  // Closed days got a summary of their agents and patients when first loaded.
  const third = new AuditLog(dir);
  t.same(idsOf((await third.search(q('patient=p2'))).events), ['b2', 'a2']);
  t.same(cachedDays(third), ['2026-01-01', '2026-01-02'], 'a patient search skips the days without the patient, unread');
  t.same(idsOf((await third.search(q('agent=app-b&date=ge2026-01-02'))).events), ['c1']);
  t.same(cachedDays(third), ['2026-01-01', '2026-01-02', '2026-01-03']);
  // A late event for a closed day makes its summary stale: the day is read again.
  third.append(event('a9', '2026-01-01T20:00:00.000Z', 'app-z', 'p7'));
  await third.close();
  const fourth = new AuditLog(dir);
  t.same(idsOf((await fourth.search(q('patient=p7'))).events), ['a9'], 'a stale summary does not hide the late event');
  t.same(idsOf((await fourth.search(q('agent=app-z'))).events), ['a9']);
  await fourth.close();
});

t.test('crash repair: key rows missing, a torn event line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = new AuditLog(dir);
  seed(log);
  await log.close();
  t.notOk(existsSync(join(dir, '2026-01-02.keys.ndjson')), 'appends write no key rows');
  const loader = new AuditLog(dir);
  t.equal((await loader.search(q('_count=10'))).total, 5);
  await loader.close();
  t.ok(existsSync(join(dir, '2026-01-02.keys.ndjson')), 'loading a day writes its key rows');
  // The key file lost its last row (a crash while its rows were appended) ...
  const keys = join(dir, '2026-01-02.keys.ndjson');
  writeFileSync(keys, readFileSync(keys, 'utf8').split('\n')[0] + '\n');
  // ... and the event file of another day ends in half a line.
  appendFileSync(join(dir, '2026-01-03.ndjson'), '{"resourceType":"AuditEvent","id":"torn');
  const again = new AuditLog(dir);
  await again.init();
  t.same(idsOf((await again.search(q('date=2026-01-02'))).events), ['b2', 'b1'], 'key file rebuilt from the events');
  t.same(idsOf((await again.search(q('date=2026-01-03'))).events), ['c1'], 'torn line skipped');
  again.append(event('c2', '2026-01-03T09:00:00.000Z', 'app-a', 'p3'));
  t.same(idsOf((await again.search(q('date=2026-01-03'))).events), ['c2', 'c1'], 'an append after the torn line is whole');
  await again.close();
  const third = new AuditLog(dir);
  t.same(idsOf((await third.search(q('patient=p3'))).events), ['c2'], 'and still after a restart');
  await third.close();
  // A torn line, then an append before any search.
  appendFileSync(join(dir, '2026-01-01.ndjson'), '{"resourceType":"Audit');
  const fourth = new AuditLog(dir);
  fourth.append(event('a3', '2026-01-01T12:00:00.000Z', 'app-c', 'p4'));
  await fourth.flush();
  t.same(idsOf((await fourth.search(q('date=2026-01-01'))).events), ['a2', 'a3', 'a1'], 'the append after a torn line is found');
  t.same(idsOf((await fourth.search(q('agent=app-c'))).events), ['a3']);
  await fourth.close();
});

t.test('the single-file trail of earlier versions moves into day files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(dir, { recursive: true });
  const old = [event('o1', '2025-12-31T10:00:00.000Z', 'old', 'p9'), event('o2', '2026-01-01T10:00:00.000Z', 'old', 'p9')];
  writeFileSync(join(dir, 'audit.ndjson'), old.map((e) => JSON.stringify(e) + '\n').join(''));
  const log = new AuditLog(dir);
  await log.init();
  t.notOk(existsSync(join(dir, 'audit.ndjson')), 'moved once');
  t.same(idsOf((await log.search(q('patient=p9'))).events), ['o2', 'o1']);
  t.same(idsOf((await log.search(q('date=2025-12-31'))).events), ['o1']);
  await log.close();
});

t.test('date parameter ranges', async (t) => {
  t.same(dateRange('2026-02'), { op: 'eq', start: Date.UTC(2026, 1, 1), end: Date.UTC(2026, 2, 1) });
  t.same(dateRange('ge2026-02-28T10:15+01:00'), { op: 'ge', start: Date.UTC(2026, 1, 28, 9, 15), end: Date.UTC(2026, 1, 28, 9, 16) });
  t.equal(dateRange('2026-02-30'), undefined, 'no such day');
  t.same(dateRange('2026-02-03T10:00'), { op: 'eq', start: Date.UTC(2026, 1, 3, 10), end: Date.UTC(2026, 1, 3, 10, 1) }, 'a time without a zone is UTC, as in every date search (search.html#date)');
  t.throws(() => q('date=sa2026'), /Invalid date/, 'unsupported prefix');
  t.throws(() => q('identity=x'), /Unknown AuditEvent search parameter/);
});

t.test('a batch whose write fails leaves the trail consistent for the next ones', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = new AuditLog(dir);
  log.append(event('a1', '2026-01-01T10:00:00.000Z', 'app-a', 'p1'));
  await log.flush();
  t.same(idsOf((await log.search(q('date=2026-01-01'))).events), ['a1'], 'the day is indexed (and cached)');
  // The disk takes half of the next batch, then fails.
  const target = (log as unknown as { target: { fh: { write: (b: Buffer, o: number) => Promise<{ bytesWritten: number }> } } }).target;
  const write = target.fh.write.bind(target.fh);
  target.fh.write = async (b: Buffer, o: number) => {
    await write(b.subarray(0, o + Math.floor((b.length - o) / 2)), o);
    throw new Error('disk full');
  };
  log.append(event('a2', '2026-01-01T11:00:00.000Z', 'app-a', 'p1'));
  await t.rejects(log.flush(), /disk full/, 'the failed batch is reported');
  log.append(event('a3', '2026-01-01T12:00:00.000Z', 'app-b', 'p2'));
  await log.flush();
  t.same(idsOf((await log.search(q('date=2026-01-01'))).events), ['a3', 'a1'], 'later events are found whole; the torn half is no event');
  t.same((await log.read('a3'))?.agent[0].who?.identifier?.value, 'app-b');
  await log.close();
  const again = new AuditLog(dir);
  t.same(idsOf((await again.search(q('agent=app-b'))).events), ['a3'], 'and after a restart');
  await again.close();
});

t.test('whole lines of a failed batch on a closed day are found by the day summary too', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = new AuditLog(dir);
  log.append(event('b1', '2026-01-02T10:00:00.000Z', 'app-a', 'p1'));
  await log.flush();
  t.same(idsOf((await log.search(q('agent=app-a'))).events), ['b1'], 'the closed day is indexed and summarised');
  // The disk takes the first line of the next batch whole and half of the second, then fails.
  const target = (log as unknown as { target: { fh: { write: (b: Buffer, o: number) => Promise<{ bytesWritten: number }> } } }).target;
  const write = target.fh.write.bind(target.fh);
  target.fh.write = async (b: Buffer, o: number) => {
    const firstLine = b.indexOf(0x0a, o) + 1;
    await write(b.subarray(0, firstLine + 10), o);
    throw new Error('disk full');
  };
  log.append(event('b2', '2026-01-02T11:00:00.000Z', 'app-c', 'p2'));
  log.append(event('b3', '2026-01-02T12:00:00.000Z', 'app-d', 'p3'));
  await t.rejects(log.flush(), /disk full/);
  t.same(idsOf((await log.search(q('agent=app-c'))).events), ['b2'], 'the whole line is found by agent, as by date');
  t.same(idsOf((await log.search(q('date=2026-01-02'))).events), ['b2', 'b1']);
  await log.close();
});

t.test('a day too large to hold in memory is streamed from its key file, with the same answers', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const held = new AuditLog(dir);
  seed(held);
  await held.flush();
  // Every day is "too large": nothing is loaded into memory, every answer is streamed.
  const streamed = new AuditLog(dir, { cachedRows: 1_000_000, cachedDayBytes: 1 });
  const queries = ['date=2026-01-02', 'patient=p1', 'patient=Patient/p2&agent=app-a', 'agent=app-b,app-x', 'subtype=http://hl7.org/fhir/restful-interaction|search-type', 'date=ge2026-01-01T23:00:00Z&date=lt2026-01-02T12:00:00Z', '_count=2', '_count=0', 'agent=nobody'];
  for (const query of queries) {
    const want = await held.search(q(query));
    const got = await streamed.search(q(query));
    t.same({ total: got.total, ids: idsOf(got.events) }, { total: want.total, ids: idsOf(want.events) }, query);
  }
  t.same(cachedDays(streamed), [], 'no day was held');
  t.equal((await streamed.read('b1'))?.id, 'b1', 'read by id');
  t.equal(await streamed.read('zz'), undefined);
  t.ok(existsSync(join(dir, '2026-01-01.summary.json')), 'a closed day streamed gets its summary');
  // Repairs: a key file that lost its last row and one torn mid-line, and a torn event line.
  const keys = join(dir, '2026-01-02.keys.ndjson');
  writeFileSync(keys, readFileSync(keys, 'utf8').split('\n')[0] + '\n');
  const keys1 = join(dir, '2026-01-01.keys.ndjson');
  writeFileSync(keys1, readFileSync(keys1, 'utf8').slice(0, 30));
  appendFileSync(join(dir, '2026-01-03.ndjson'), '{"resourceType":"AuditEvent","id":"torn');
  const again = new AuditLog(dir, { cachedRows: 1_000_000, cachedDayBytes: 1 });
  t.same(idsOf((await again.search(q('date=2026-01-02'))).events), ['b2', 'b1'], 'missing key rows are indexed again');
  t.same(idsOf((await again.search(q('date=2026-01-01'))).events), ['a2', 'a1'], 'a torn key file is rebuilt');
  t.same(idsOf((await again.search(q('date=2026-01-03'))).events), ['c1'], 'torn event line skipped');
  again.append(event('c2', '2026-01-03T09:00:00.000Z', 'app-a', 'p3'));
  t.same(idsOf((await again.search(q('patient=p3'))).events), ['c2'], 'an append after the torn line is whole');
  await again.close();
  const whole = new AuditLog(dir);
  t.same(idsOf((await whole.search(q('_count=10'))).events), ['c2', 'c1', 'b2', 'b1', 'a2', 'a1'], 'the repaired key files load whole too');
  await whole.close();
  await held.close();
  await streamed.close();
});

t.test('a busy day: its key rows are read and written in pieces; a page keeps only the newest', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = new AuditLog(dir, { cachedRows: 1_000, cachedDayBytes: 1 });
  const n = 25_000; // more than one 1 MB read of the key file, and more than one append of key rows
  const base = Date.UTC(2026, 0, 5);
  for (let i = 0; i < n; i++) log.append(event(`e${i}`, new Date(base + i * 1000).toISOString(), `app-${i % 7}`, `p${i % 1000}`));
  await log.flush();
  const page = await log.search(q('agent=app-3&_count=3'));
  const app3 = Array.from({ length: n }, (_, i) => i).filter((i) => i % 7 === 3);
  t.equal(page.total, app3.length);
  t.same(idsOf(page.events), app3.slice(-3).reverse().map((i) => `e${i}`), 'the newest three, newest first');
  t.equal(readFileSync(join(dir, '2026-01-05.keys.ndjson'), 'utf8').split('\n').length - 1, n, 'one key row per event');
  const byPatient = await log.search(q('patient=p999&_count=100'));
  t.same(idsOf(byPatient.events), Array.from({ length: n }, (_, i) => i).filter((i) => i % 1000 === 999).reverse().map((i) => `e${i}`));
  t.same(cachedDays(log), []);
  await log.close();
});

t.test('a cached day that grows past the row limit is dropped from memory, and still answered', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = new AuditLog(dir, { cachedRows: 10, cachedDayBytes: 1 << 30 });
  const at = (i: number) => `2026-01-07T10:00:${String(i).padStart(2, '0')}.000Z`;
  for (let i = 0; i < 5; i++) log.append(event(`t${i}`, at(i), 'app-a', 'p1'));
  t.equal((await log.search(q('agent=app-a'))).total, 5);
  t.same(cachedDays(log), ['2026-01-07'], 'held while small');
  for (let i = 5; i < 20; i++) log.append(event(`t${i}`, at(i), 'app-a', 'p1'));
  await log.flush();
  t.same(cachedDays(log), [], 'dropped once it holds more rows than the limit');
  const page = await log.search(q('agent=app-a&_count=2'));
  t.equal(page.total, 20);
  t.same(idsOf(page.events), ['t19', 't18']);
  t.same(cachedDays(log), [], 'not kept after the search either');
  await log.close();
});
