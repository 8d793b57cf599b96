import t from 'tap';
import { Query } from 'mingo';
import type { Observation, Patient, Resource, RiskAssessment, OperationOutcome } from 'fhir/r4.js';
import { FhirError } from '../../src/fhir/errors.js';
import { dateRange } from '../../src/search/date-range.js';
import { dateCondition } from '../../src/search/compile-date.js';
import { createSearchEngine } from '../../src/search/engine.js';
import { fold } from '../../src/search/fold.js';
import { splitEscaped, unescapeValue } from '../../src/search/search-value.js';
import { MemoryStore, matchIds } from './memory-store.js';

const engine = createSearchEngine({ baseUrl: 'https://fhir.example.org/r4/' });

t.test('date precision becomes an inclusive ms range', async (t) => {
  t.same(dateRange('2020'), [Date.UTC(2020, 0, 1), Date.UTC(2021, 0, 1) - 1]);
  t.same(dateRange('2020-02'), [Date.UTC(2020, 1, 1), Date.UTC(2020, 2, 1) - 1]);
  t.same(dateRange('2021-02-28'), [Date.UTC(2021, 1, 28), Date.UTC(2021, 2, 1) - 1]);
  t.same(dateRange('2020-03-01T10:00'), [Date.UTC(2020, 2, 1, 10), Date.UTC(2020, 2, 1, 10, 1) - 1]);
  t.same(dateRange('2020-03-01T10:00:05+02:00'), [Date.UTC(2020, 2, 1, 8, 0, 5), Date.UTC(2020, 2, 1, 8, 0, 6) - 1]);
  t.same(dateRange('2020-03-01T10:00:05.25Z'), [Date.UTC(2020, 2, 1, 10, 0, 5, 250), Date.UTC(2020, 2, 1, 10, 0, 5, 260) - 1]);
  t.same(dateRange('0050'), [new Date('0050-01-01T00:00:00Z').getTime(), new Date('0051-01-01T00:00:00Z').getTime() - 1]);
  t.equal(dateRange('2020-13'), undefined);
  t.same(dateRange('2020-02-29'), [Date.UTC(2020, 1, 29), Date.UTC(2020, 2, 1) - 1], 'a leap day');
  for (const no of ['2021-02-29', '2100-02-29', '2020-04-31', '2020-02-30T10:00Z', '2020-00', '2020-00-15']) t.equal(dateRange(no), undefined, `${no} is no date`);
  // "the minutes SHALL be present if an hour is present" (search.html#date)
  for (const no of ['2020-03-01T10', '2020-03-01T10Z', '2020-03-01T10+02:00']) t.equal(dateRange(no), undefined, `${no}: an hour without minutes`);
  // R4 dateTime/instant hours are 00-23 (the datatype regexes; search.html uses the same format): no 24:00
  t.equal(dateRange('2020-01-01T24:00:00Z'), undefined, 'hour 24 is no time');
  // R4 zones: Z or an offset up to ±14:00 with minutes 00-59 (datatypes.html#dateTime)
  for (const no of ['+23:00', '+05:75', '-14:01', '+15:00', '+1:00', '+0100']) t.equal(dateRange(`2020-01-01T10:00:00${no}`), undefined, `${no} is no zone`);
  t.same(dateRange('2020-01-01T10:00:00+14:00'), [Date.UTC(2019, 11, 31, 20), Date.UTC(2019, 11, 31, 20, 0, 1) - 1], 'the farthest offset east');
  t.same(dateRange('2020-01-01T10:00:00-13:59'), [Date.UTC(2020, 0, 1, 23, 59), Date.UTC(2020, 0, 1, 23, 59, 1) - 1], 'and west of it');
  t.equal(dateRange('yesterday'), undefined);
});

t.test('date prefixes follow the range semantics of search.html', async (t) => {
  // the spec's wording, restated over [lo, hi] ranges: search S, target T
  const spec: Record<string, (s: readonly number[], x: readonly number[]) => boolean> = {
    eq: (s, x) => x[0] >= s[0] && x[1] <= s[1],
    ne: (s, x) => !(x[0] >= s[0] && x[1] <= s[1]),
    gt: (s, x) => x[1] > s[1],
    lt: (s, x) => x[0] < s[0],
    ge: (s, x) => x[1] > s[1] || (x[0] >= s[0] && x[1] <= s[1]),
    le: (s, x) => x[0] < s[0] || (x[0] >= s[0] && x[1] <= s[1]),
    sa: (s, x) => x[0] > s[1],
    eb: (s, x) => x[1] < s[0],
  };
  const targets = ['2019', '2020', '2020-06', '2020-06-15', '2020-06-15T12:00:00Z', '2021', '2019-12-31T23:59:59Z', '2021-01-01T00:00:00Z']
    .map((d) => ({ d, r: dateRange(d)! }));
  const spans = [
    { d: '2019..2021', r: [dateRange('2019')![0], dateRange('2021')![1]] as const },
    { d: '2020-06..2020-07', r: [dateRange('2020-06')![0], dateRange('2020-07')![1]] as const },
  ];
  for (const search of ['2020', '2020-06-15', '2020-06-15T12:00']) {
    const s = dateRange(search)!;
    for (const [prefix, holds] of Object.entries(spec)) {
      const q = new Query(dateCondition('date', prefix + search));
      for (const x of [...targets, ...spans]) {
        t.equal(q.test({ lo: x.r[0], hi: x.r[1] }), holds(s, x.r), `${prefix}${search} vs ${x.d}`);
      }
    }
  }
  // A point stored in one field (_lastUpdated's lu): both bounds are that field.
  for (const search of ['2020', '2020-06-15', '2020-06-15T12:00']) {
    const s = dateRange(search)!;
    for (const [prefix, holds] of Object.entries(spec)) {
      const q = new Query(dateCondition('_lastUpdated', prefix + search, 'lu', 'lu'));
      for (const x of targets) for (const p of x.r) t.equal(q.test({ lu: p }), holds(s, [p, p]), `${prefix}${search} vs the instant ${new Date(p).toISOString()}`);
    }
  }
  const apPoint = new Query(dateCondition('_lastUpdated', 'ap2020-06-15', 'lu', 'lu', Date.UTC(2024, 0, 1)));
  t.ok(apPoint.test({ lu: Date.UTC(2020, 7, 1) }), 'ap on a point: within 10% of the gap to now');
  t.notOk(apPoint.test({ lu: Date.UTC(2022, 0, 1) }), 'ap on a point: far away');
  const ap = new Query(dateCondition('date', 'ap2020-06-15', 'lo', 'hi', Date.UTC(2024, 0, 1)));
  t.ok(ap.test({ lo: Date.UTC(2020, 7, 1), hi: Date.UTC(2020, 7, 1) }), 'ap: within 10% of the gap to now');
  t.notOk(ap.test({ lo: Date.UTC(2022, 0, 1), hi: Date.UTC(2022, 0, 1) }), 'ap: far away');
  // Letters that are no prefix code belong to the value: the date parser refuses it, naming the value.
  for (const bad of ['garbage', 'xx2020', 'gtgarbage']) {
    t.throws(() => dateCondition('birthdate', bad), { status: 400, message: /^Invalid date '(garbage|xx2020)' in parameter 'birthdate': a date is \[prefix\]YYYY/ }, `${bad}: not a valid date`);
  }
});

t.test('a Timing is searched by its outer limits only (search.html#date)', async (t) => {
  const store = new MemoryStore(engine);
  const sr = (id: string, occurrenceTiming: object) => ({ resourceType: 'ServiceRequest', id, status: 'active', intent: 'order', subject: { reference: 'Patient/p1' }, occurrenceTiming }) as unknown as Resource;
  store.put(sr('events', { event: ['2015-06-10', '2015-06-20T08:00:00Z'] }));
  store.put(sr('bounded', { event: ['2016-01-05'], repeat: { boundsPeriod: { start: '2016-01-01', end: '2016-01-31' }, frequency: 1, period: 2, periodUnit: 'd' } }));
  const ids = async (q: string) => matchIds(await engine.search(store.asStore(), { types: ['ServiceRequest'], params: [['occurrence', q]], path: 'ServiceRequest' }));
  // [2015-06-10T00:00, 2015-06-20T08:00:00.999]: one range, whatever lies between the events.
  t.same(await ids('2015-06-15'), [], 'eq: the day is inside the range, which it does not contain');
  t.same(await ids('2015-06'), ['ServiceRequest/events'], 'eq: the month contains the whole range');
  t.same(await ids('eq2015-06-10'), [], 'eq one event: the range is more than that day');
  t.same(await ids('sa2015-06-15'), ['ServiceRequest/bounded'], 'sa: the range of events starts before (the 2016 one after)');
  t.same(await ids('eb2015-06-15'), [], 'eb: the range ends after');
  t.same(await ids('sa2015-06-09'), ['ServiceRequest/bounded', 'ServiceRequest/events']);
  t.same(await ids('ge2015-06-19'), ['ServiceRequest/bounded', 'ServiceRequest/events'], 'ge: the range reaches past the 19th');
  t.same(await ids('ge2015-06-21'), ['ServiceRequest/bounded'], 'ge: but not past the 20th');
  t.same(await ids('le2015-06-11'), ['ServiceRequest/events'], 'le: the range starts before the 11th');
  t.same(await ids('2016-01-02'), [], 'an odd day inside the bounds, not the whole range');
  t.same(await ids('2016-01'), ['ServiceRequest/bounded'], 'bounds and events make one range');
});

t.test('reference :missing: a Reference with only an identifier has a value', async (t) => {
  const store = new MemoryStore(engine);
  const obs = (id: string, subject?: object) => ({ resourceType: 'Observation', id, status: 'final', code: { text: 'x' }, ...(subject ? { subject } : {}) }) as unknown as Resource;
  store.put(obs('ref', { reference: 'Patient/p1' }));
  store.put(obs('ident', { identifier: { system: 'urn:mrn', value: '7' } }));
  store.put(obs('none'));
  const ids = async (v: string) => matchIds(await engine.search(store.asStore(), { types: ['Observation'], params: [['subject:missing', v]], path: 'Observation' }));
  t.same(await ids('true'), ['Observation/none']);
  t.same(await ids('false'), ['Observation/ident', 'Observation/ref']);
});

t.test('escaping and folding', async (t) => {
  t.same(splitEscaped('a\\,b,c', ','), ['a\\,b', 'c']);
  t.same(splitEscaped('s\\|x|c', '|').map(unescapeValue), ['s|x', 'c']);
  t.equal(unescapeValue('a\\$b\\\\'), 'a$b\\');
  // Values without a backslash take a shortcut; empty alternatives and the empty value stay.
  t.same(splitEscaped('a,,b,', ','), ['a', '', 'b', '']);
  t.same(splitEscaped('', '|'), ['']);
  t.same(splitEscaped('http://x|c\\|d', '|'), ['http://x', 'c\\|d']);
  t.equal(unescapeValue('Patient/1,2'), 'Patient/1,2');
  t.equal(fold('Ÿvès-MÜLLER'), 'yves-muller');
  t.equal(fold('Straße'), 'strasse', 'ß folds to ss');
  t.equal(fold('STRAẞE'), 'strasse', 'and so does capital ẞ');
  // End to end: address and name searches find ß by ss and ss by ß.
  const store = new MemoryStore(engine);
  store.put({ resourceType: 'Patient', id: 'de', name: [{ family: 'Weiß' }], address: [{ line: ['Hauptstraße 5'], city: 'Gießen' }] } as Patient);
  const ids = async (p: string, v: string) => matchIds(await engine.search(store.asStore(), { types: ['Patient'], params: [[p, v]], path: 'Patient' }));
  t.same(await ids('family', 'weiss'), ['Patient/de']);
  t.same(await ids('address-city', 'GIESSEN'), ['Patient/de']);
  t.same(await ids('address:contains', 'strasse'), ['Patient/de']);
  t.same(await ids('family:exact', 'Weiss'), [], ':exact stays exact');
});

const risk = (id: string, probability: number | [number, number]): RiskAssessment => ({
  resourceType: 'RiskAssessment',
  id,
  status: 'final',
  subject: { reference: 'Patient/p1' },
  prediction: [typeof probability === 'number' ? { probabilityDecimal: probability } : { probabilityRange: { low: { value: probability[0] }, high: { value: probability[1] } } }],
});

t.test('number search: implicit precision for eq, exact value for comparisons', async (t) => {
  const store = new MemoryStore(engine);
  const values = [99.4, 99.5, 100, 100.4, 100.5, 101, 0.5, 0.55];
  values.forEach((v, i) => store.put(risk(`r${i}`, v)));
  store.put(risk('range', [10, 20]));
  const ids = async (q: string) => matchIds(await engine.search(store.asStore(), { types: ['RiskAssessment'], params: [['probability', q], ['_count', '100']], path: 'RiskAssessment' }));
  const expect = (pred: (v: number) => boolean) => values.flatMap((v, i) => (pred(v) ? [`RiskAssessment/r${i}`] : [])).sort();
  t.same(await ids('100'), expect((v) => v >= 99.5 && v < 100.5));
  t.same(await ids('100.0'), expect((v) => v >= 99.95 && v < 100.05));
  t.same(await ids('1e2'), expect((v) => v >= 50 && v < 150));
  t.same(await ids('gt100'), expect((v) => v > 100));
  t.same(await ids('le0.5'), expect((v) => v <= 0.5));
  t.same(await ids('0.5,101'), expect((v) => (v >= 0.45 && v < 0.55) || (v >= 100.5 && v < 101.5)));
  t.same(await ids('15'), ['RiskAssessment/range'].filter(() => false), 'a range is not within 15±0.5');
  t.same(await ids('sa50'), expect((v) => v > 50), 'the range 10..20 does not start after 50');
  t.same(await ids('eb15'), expect((v) => v < 15), 'the range 10..20 does not end before 15');
  t.same(await ids('ge20'), [...expect((v) => v >= 20), 'RiskAssessment/range'].sort(), 'range whose high reaches 20');
  await t.rejects(ids('abc'), FhirError);
  // Only the prefix codes are a prefix: other letters are part of the value, refused as a number.
  await t.rejects(ids('xx5'), /^Invalid number 'xx5' in parameter '[^']+': a number is \[prefix\]decimal/);
});

t.test('number search: implicit ranges are exact in decimal (search.html#number)', async (t) => {
  const store = new MemoryStore(engine);
  const texts = ['0.35', '0.3499', '0.4', '0.45', '0.4499', '-0.35', '-0.45', '-0.4', '5.35', '5.45', '178.08705005887956', '178.0870500588795', '178.08705005887957', '1.5e-3', '0.00149', '0.00151'];
  texts.forEach((x, i) => store.put(risk(`d${i}`, Number(x))));
  const ids = async (q: string) => matchIds(await engine.search(store.asStore(), { types: ['RiskAssessment'], params: [['probability', q], ['_count', '100']], path: 'RiskAssessment' }));
  // Exact decimals as (integer, exponent), compared at a common exponent: no binary arithmetic.
  const dec = (x: string): [bigint, number] => {
    const [m, e = '0'] = x.toLowerCase().split('e');
    const dot = m.indexOf('.');
    return [BigInt(m.replace('.', '')), Number(e) - (dot < 0 ? 0 : m.length - dot - 1)];
  };
  const cmp = (a: [bigint, number], b: [bigint, number]) => {
    const e = Math.min(a[1], b[1]);
    const x = a[0] * 10n ** BigInt(a[1] - e);
    const y = b[0] * 10n ** BigInt(b[1] - e);
    return x < y ? -1 : x > y ? 1 : 0;
  };
  for (const q of ['0.4', '-0.4', '5.4', '178.08705005887956', '1.5e-3', '0.0015']) {
    const [n, e] = dec(q);
    const low: [bigint, number] = [n * 10n - 5n, e - 1];
    const high: [bigint, number] = [n * 10n + 5n, e - 1];
    const inside = (x: string) => cmp(dec(x), low) >= 0 && cmp(dec(x), high) < 0;
    const want = texts.flatMap((x, i) => (inside(x) ? [`RiskAssessment/d${i}`] : [])).sort();
    t.same(await ids(q), want, `${q}: ${want.length} inside`);
    const notWant = texts.flatMap((x, i) => (inside(x) ? [] : [`RiskAssessment/d${i}`])).sort();
    t.same(await ids(`ne${q}`), notWant, `ne${q}: the others`);
  }
});

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (e) {
    if (e instanceof FhirError) return e.status;
    throw e;
  }
}

t.test('client strings never become operators, fields or live regexes', async (t) => {
  const store = new MemoryStore(engine);
  const pats: Patient[] = [
    { resourceType: 'Patient', id: 'a', name: [{ family: 'Abc' }], gender: 'male' },
    { resourceType: 'Patient', id: 'b', name: [{ family: '.*' }], gender: 'female' },
    { resourceType: 'Patient', id: 'c', name: [{ family: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab' }] },
  ];
  for (const p of pats) store.put(p);
  const run = (params: Array<[string, string]>, lenient = false) =>
    engine.search(store.asStore(), { types: ['Patient'], params, path: 'Patient', lenient });
  t.equal(await status(run([['name[$ne]', 'x']])), 400);
  t.equal(await status(run([['_id[$gt]', 'x']])), 400);
  t.same(matchIds(await run([['_id[$gt]', '']])), ['Patient/a', 'Patient/b', 'Patient/c'], 'with no value it is an empty parameter: ignored (search.html#errors)');
  t.equal(await status(run([['$where', '1']])), 400);
  t.equal(await status(run([['_sort', '$where']])), 400);
  t.equal(await status(run([['_sort', 'name.$x']])), 400);
  t.same(matchIds(await run([['name', '.*']])), ['Patient/b'], 'regex metacharacters are literal');
  t.same(matchIds(await run([['name:contains', '*']])), ['Patient/b']);
  t.same(matchIds(await run([['gender', '{"$ne":"x"}']])), []);
  t.same(matchIds(await run([['_id', '{"$gt":""}']])), []);
  const evil = '(a+)+$' + 'a'.repeat(40) + '!';
  const start = Date.now();
  t.same(matchIds(await run([['name:contains', evil]])), []);
  t.ok(Date.now() - start < 2000, 'no catastrophic backtracking');
  const many = Array.from({ length: 10000 }, (_, i) => `v${i}`).join(',');
  const s2 = Date.now();
  t.equal(await status(run([['gender', many]])), 400, '10,000 alternatives are refused');
  t.ok(Date.now() - s2 < 2000);
  t.same(matchIds(await run([['gender', Array.from({ length: 1000 }, (_, i) => (i === 999 ? 'male' : `v${i}`)).join(',')]])), ['Patient/a']);
  const cursor = Buffer.from(JSON.stringify({ d: 'n', v: [{ $gt: '' }, 'a'] })).toString('base64url');
  t.equal(await status(run([['_cursor', cursor]])), 400, 'objects in a cursor are refused');
  t.equal(await status(run([['_cursor', 'not a cursor']])), 400);
  t.equal(await status(run([['_count', '-1']])), 400);
  t.equal(await status(run([['birthdate', 'xx2020']])), 400);
  t.equal(await status(run([['_lastUpdated', 'ge2020-01-01T10:00:00+23:00']])), 400, 'a zone beyond ±14:00 is refused');
  t.equal(await status(run([['_lastUpdated', 'ge2020-01-01T10']])), 400, 'an hour without minutes is refused');
  t.equal(await status(run([['name:foo', 'x']])), 400);
  t.equal(await status(run([['_summary', 'maybe']])), 400);
  // An empty list (or an empty item in one) is no list: refused like an empty _count or _summary, not read as absent.
  for (const [k, v] of [['_sort', 'gender,,name'], ['_sort', '-'], ['_elements', 'id,'], ['_elements', ' ']]) {
    t.equal(await status(run([[k, v]])), 400, `${k}=${v} is refused`);
  }
  // With no value at all, a parameter is an empty one: ignored (search.html#errors).
  for (const k of ['_sort', '_elements']) t.same(matchIds(await run([[k, '']])), ['Patient/a', 'Patient/b', 'Patient/c'], `${k}= is ignored`);
  t.equal(await status(run([['_sort', 'gender,-name'], ['_elements', 'id, gender']])), 200, 'lists with spaces after commas still work');
  t.equal(await status(run([['_elements', 'gender,nmae']])), 400, 'an element Patient does not have is refused');
  const lenientElements = await run([['_elements', 'gender,nmae'], ['_id', 'a']], true);
  t.same(Object.keys(lenientElements.entry!.find((e) => e.search?.mode === 'match')!.resource!).sort(), ['gender', 'id', 'meta', 'resourceType'], 'lenient: the known ones apply');
  t.match(JSON.stringify(lenientElements.entry!.find((e) => e.search?.mode === 'outcome')), 'nmae', 'and the unknown one is reported');
  t.equal(await status(run([['identifier:of-type', 'x']])), 400);
});

t.test('strict by default, lenient on request', async (t) => {
  const store = new MemoryStore(engine);
  store.put({ resourceType: 'Patient', id: 'a', gender: 'male' } as Patient);
  const err = await engine.search(store.asStore(), { types: ['Patient'], params: [['nonsense', 'x']], path: 'Patient' }).catch((e) => e);
  t.ok(err instanceof FhirError);
  t.equal(err.status, 400);
  t.match(err.issues[0].diagnostics, /nonsense/);
  const b = await engine.search(store.asStore(), {
    types: ['Patient'],
    params: [['nonsense', 'x'], ['gender:bogus', 'male'], ['gender', 'male'], ['_include', 'Patient:nothing']],
    path: 'Patient',
    lenient: true,
  });
  t.same(matchIds(b), ['Patient/a']);
  const outcome = b.entry!.find((e) => e.search?.mode === 'outcome');
  t.equal(outcome?.resource?.resourceType, 'OperationOutcome');
  const text = JSON.stringify(outcome?.resource);
  t.match(text, /nonsense/);
  t.match(text, /bogus/);
  t.match(text, /nothing/);
  // _summary=text with _include: refused, or (lenient) the includes are left out and said.
  store.put({ resourceType: 'Observation', id: 'o', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/a' } } as Observation);
  const mixed: Array<[string, string]> = [['_summary', 'text'], ['_include', 'Observation:subject']];
  const refused = await engine.search(store.asStore(), { types: ['Observation'], params: mixed, path: 'Observation' }).catch((e) => e);
  t.equal(refused.status, 400);
  t.match(refused.issues[0].diagnostics, /cannot be mixed with _summary=text/);
  const lenient = await engine.search(store.asStore(), { types: ['Observation'], params: mixed, path: 'Observation', lenient: true });
  t.same(lenient.entry!.filter((e) => e.search?.mode !== 'outcome').map((e) => `${e.search?.mode} ${e.resource?.resourceType}/${e.resource?.id}`), ['match Observation/o']);
  t.match(JSON.stringify(lenient.entry!.find((e) => e.search?.mode === 'outcome')), /cannot be mixed/);
  t.notMatch(lenient.link?.[0]?.url ?? '', /_include/, 'and out of the self link');
});

t.test('empty parameters are ignored, reported, and left out of the links (search.html#errors)', async (t) => {
  const store = new MemoryStore(engine);
  store.put({ resourceType: 'Patient', id: 'a', gender: 'male' } as Patient);
  store.put({ resourceType: 'Patient', id: 'b', gender: 'female' } as Patient);
  store.put({ resourceType: 'Patient', id: 'c' } as Patient);
  const search = (params: Array<[string, string]>) => engine.search(store.asStore(), { types: ['Patient'], params, path: 'Patient' });
  const b = await search([['gender', ''], ['name', ''], ['_count', ''], ['_id', 'a,b']]);
  t.same(matchIds(b), ['Patient/a', 'Patient/b'], 'as if gender, name and _count were absent: the other parameter still applies');
  t.same([...new URL(b.link!.find((l) => l.relation === 'self')!.url).searchParams], [['_id', 'a,b']], 'the self link holds the parameters used');
  const outcome = b.entry!.find((e) => e.search?.mode === 'outcome')!.resource as OperationOutcome;
  t.equal(outcome.issue[0].severity, 'information');
  t.match(outcome.issue[0].diagnostics, /'gender', 'name', '_count' have no value/);
  t.same(matchIds(await search([['gender', '']])), ['Patient/a', 'Patient/b', 'Patient/c'], 'gender= alone: every Patient');
  t.equal(await status(search([['gender', 'male,']])), 200, 'an empty item in a list is a value (it matches nothing)');
  t.equal(await status(search([['_sort', 'gender,']])), 400, 'an empty item in a result list is still refused');
});

t.test('a lenient search leaves what it ignored out of its self and next links (search.html#selflink)', async (t) => {
  const store = new MemoryStore(engine);
  for (const id of ['a', 'b', 'c']) store.put({ resourceType: 'Patient', id, gender: 'male' } as Patient);
  const self = (b: { link?: Array<{ relation: string; url: string }> }, rel = 'self') => b.link!.find((l) => l.relation === rel)?.url;
  const query = (url: string | undefined) => [...new URL(url!).searchParams];
  const b = await engine.search(store.asStore(), {
    types: ['Patient'],
    params: [['nonsense', 'x'], ['gender:bogus', 'male'], ['gender', 'male'], ['_include', 'Patient:nothing'], ['_count:x', '9'], ['_type', 'Observation'], ['_elements', 'gender,nmae'], ['_count', '2'], ['_count', '5']],
    path: 'Patient',
    lenient: true,
  });
  t.same(matchIds(b), ['Patient/a', 'Patient/b'], 'the first _count is used');
  t.same(query(self(b)), [['gender', 'male'], ['_elements', 'gender'], ['_count', '2']], 'the self link holds only the parameters used, _elements with its known names');
  t.match(JSON.stringify(b.entry!.find((e) => e.search?.mode === 'outcome')), "'_count' may appear only once", 'the second _count is reported, not silently dropped');
  const next = query(self(b, 'next'));
  t.same(next.filter(([k]) => k !== '_cursor'), [['gender', 'male'], ['_elements', 'gender'], ['_count', '2']], 'and so does the next link');
  const page2 = await engine.search(store.asStore(), { types: ['Patient'], params: next as Array<[string, string]>, path: 'Patient' });
  t.same(matchIds(page2), ['Patient/c'], 'which a strict search follows');
  const strictErr = await engine.search(store.asStore(), { types: ['Patient'], params: [['_count', '2'], ['_count', '5']], path: 'Patient' }).catch((e) => e);
  t.equal(strictErr?.status, 400, 'strict: a repeated _count is refused');
  const multi = await engine.search(store.asStore(), { types: ['Patient', 'Observation'], params: [['gender', 'male'], ['nonsense', 'x']], path: '', lenient: true });
  t.same(query(self(multi)), [['gender', 'male']], 'over several types: a parameter ignored by all of them is left out, one some of them used is kept');
});

t.test('result parameters take no modifiers: refused, or ignored and reported when lenient', async (t) => {
  const store = new MemoryStore(engine);
  for (const id of ['a', 'b', 'c']) store.put({ resourceType: 'Patient', id, gender: 'male' } as Patient);
  const run = (params: Array<[string, string]>, lenient = false) => engine.search(store.asStore(), { types: ['Patient'], params, path: 'Patient', lenient });
  const odd: Array<[string, string]> = [
    ['_count:x', '1'],
    ['_sort:x', '-_id'],
    ['_summary:x', 'count'],
    ['_total:x', 'none'],
    ['_elements:x', 'id'],
    ['_format:x', 'json'],
    ['_pretty:x', 'true'],
    ['_type:x', 'Patient'],
    ['_cursor:x', 'abc'],
  ];
  for (const p of odd) {
    const err = await run([p]).catch((e) => e);
    t.equal(err?.status, 400, `${p[0]} is refused`);
    t.match(JSON.stringify(err?.issues), p[0]);
    const b = await run([p], true);
    t.same(matchIds(b), ['Patient/a', 'Patient/b', 'Patient/c'], `${p[0]} is ignored when lenient`);
    t.match(JSON.stringify(b.entry?.find((e) => e.search?.mode === 'outcome')), p[0], `and reported`);
  }
  t.same(matchIds(await run([['_count', '1']])), ['Patient/a'], 'the plain names still work');
  // _type chooses the types of a whole-system or Patient/{id}/* search; on a type's own search it would be ignored.
  const typed = await run([['_type', 'Observation']]).catch((e) => e);
  t.equal(typed?.status, 400, '_type on a type-level search is refused');
  t.match(JSON.stringify(typed?.issues), '_type');
  t.same(matchIds(await run([['_type', 'Observation']], true)), ['Patient/a', 'Patient/b', 'Patient/c'], 'ignored and reported when lenient');
  t.equal((await run([['_include:iterate', 'Patient:link']])).total, 3, '_include:iterate is a known modifier');
});

t.test('_elements shapes the matches only: included resources come whole (search.html#elements)', async (t) => {
  const store = new MemoryStore(engine);
  store.put({ resourceType: 'Patient', id: 'p', gender: 'male', birthDate: '1950-01-01' } as Patient);
  store.put({ resourceType: 'Observation', id: 'o', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p' }, valueString: 'v' } as Observation);
  const b = await engine.search(store.asStore(), { types: ['Observation'], params: [['_include', 'Observation:subject'], ['_elements', 'status']], path: 'Observation' });
  const match = b.entry!.find((e) => e.search?.mode === 'match')!.resource as Observation;
  const included = b.entry!.find((e) => e.search?.mode === 'include')!.resource as Patient;
  t.notOk(match.valueString, 'the match is subsetted');
  t.ok(match.meta?.tag?.some((x) => x.code === 'SUBSETTED'));
  t.same([included.gender, included.birthDate], ['male', '1950-01-01'], 'the included Patient is whole');
  t.notOk(included.meta?.tag?.some((x) => x.code === 'SUBSETTED'), 'and not marked SUBSETTED');
});

t.test('an _include or _revinclude that can reach nothing on this search is refused, not ignored', async (t) => {
  const store = new MemoryStore(engine);
  store.put({ resourceType: 'Patient', id: 'a', gender: 'male' } as Patient);
  const run = (params: Array<[string, string]>, lenient = false) => engine.search(store.asStore(), { types: ['Patient'], params, path: 'Patient', lenient });
  for (const [k, v] of [
    ['_include', 'Observation:subject'], // an Observation is not in the results
    ['_revinclude', 'Encounter:practitioner'], // it points at Practitioners only
    ['_revinclude', 'Condition:subject:Group'], // the results are Patients
  ]) {
    const err = await run([[k, v]]).catch((e) => e);
    t.equal(err?.status, 400, `${k}=${v} is refused`);
    t.match(JSON.stringify(err?.issues), v);
    const b = await run([[k, v]], true);
    t.same(matchIds(b), ['Patient/a'], `${k}=${v} is ignored and reported when lenient`);
    t.match(JSON.stringify(b.entry?.find((e) => e.search?.mode === 'outcome')), v);
  }
  for (const [k, v] of [
    ['_include', 'Patient:general-practitioner'],
    ['_include:iterate', 'Observation:subject'], // iterate: it applies to included resources too
    ['_revinclude', 'Condition:subject'],
    ['_revinclude', 'Observation:performer'], // performer may point at a Patient
    ['_include', '*'],
  ]) {
    t.equal((await run([[k, v]])).total, 1, `${k}=${v} is accepted`);
  }
});

t.test('references on our own base are stored and searched relative', async (t) => {
  const store = new MemoryStore(engine);
  store.put({ resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'x' }, subject: { reference: 'https://fhir.example.org/r4/Patient/p1/_history/3' } } as Observation);
  store.put({ resourceType: 'Observation', id: 'o2', status: 'final', code: { text: 'x' }, subject: { reference: 'https://elsewhere.example.com/Patient/p1' } } as Observation);
  store.put({ resourceType: 'Observation', id: 'o3', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p1' } } as Observation);
  const ids = async (params: Array<[string, string]>) =>
    matchIds(await engine.search(store.asStore(), { types: ['Observation'], params, path: 'Observation' }));
  t.same(await ids([['subject', 'Patient/p1']]), ['Observation/o1', 'Observation/o3']);
  t.same(await ids([['subject', 'p1']]), ['Observation/o1', 'Observation/o3']);
  t.same(await ids([['subject:Patient', 'p1']]), ['Observation/o1', 'Observation/o3']);
  t.same(await ids([['subject:Group', 'p1']]), []);
  t.same(await ids([['subject', 'https://fhir.example.org/r4/Patient/p1']]), ['Observation/o1', 'Observation/o3']);
  t.same(await ids([['subject', 'https://elsewhere.example.com/Patient/p1']]), ['Observation/o2']);
  t.same(await ids([['patient', 'p1']]), ['Observation/o1', 'Observation/o3'], 'patient param keeps Patient references only');
});

t.test('_sort on a quantity orders UCUM values by their value in base units', async (t) => {
  const store = new MemoryStore(engine);
  const obs = (id: string, value: number, code: string, system = 'http://unitsofmeasure.org') =>
    store.put({ resourceType: 'Observation', id, status: 'final', code: { text: 'x' }, valueQuantity: { value, system, code, unit: code } } as Observation);
  obs('six-g', 6, 'g');
  obs('mg', 5000, 'mg');
  obs('half-kg', 0.0045, 'kg');
  obs('four-g', 4, 'g');
  obs('lb', 0.01, '[lb_av]');
  // in page order (not sorted by id as matchIds gives them)
  const ids = async (sort: string) => ((await engine.search(store.asStore(), { types: ['Observation'], params: [['_sort', sort]], path: 'Observation' })).entry ?? []).map((e) => e.resource!.id);
  // 0.0045 kg = 4.5 g, 0.01 [lb_av] = 4.5359237 g, 5000 mg = 5 g; as written the order would be half-kg, lb, four-g, six-g, mg
  t.same(await ids('value-quantity'), ['four-g', 'half-kg', 'lb', 'mg', 'six-g']);
  t.same(await ids('-value-quantity'), ['six-g', 'mg', 'lb', 'half-kg', 'four-g']);
});
