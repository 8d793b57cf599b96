import t from 'tap';
import { Query } from 'mingo';
import { topKeys } from '../../src/store/embedded/top-keys.js';
import { compileScalarFilter } from '../../src/store/embedded/scalar-filter.js';
import { serializeJson, storedEntryMaker } from '../../src/fhir/raw-json.js';

const onX = storedEntryMaker('http://x/fhir');
import type { Filter } from '../../src/store/port.js';

let seed = 11;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const ID_CHARS = 'aZ09-.';
const randomId = () => Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => ID_CHARS[Math.floor(rnd() * ID_CHARS.length)]).join('');
const TYPES = ['Condition', 'Observation', 'Patient', 'Obs', 'ObservationDefinition'];
const docs = Array.from({ length: 400 }, (_, i) => ({ type: TYPES[Math.floor(rnd() * TYPES.length)], id: `${randomId()}${i % 7 ? '' : '-'}`, vid: 1 + (i % 3), lu: 1000 + Math.floor(rnd() * 50) }));

t.test('topKeys gives the (type, id) order of MongoDB from the keys alone', async (t) => {
  const unique = [...new Map(docs.map((d) => [`${d.type}/${d.id}`, d])).values()];
  const items = new Set(unique.map((d) => ({ key: `${d.type}/${d.id}` })));
  for (const dir of [1, -1] as const) {
    const ref = new Query({}).find(unique).sort({ type: dir, id: dir }).all().map((d) => `${(d as { type: string }).type}/${(d as { id: string }).id}`);
    for (const k of [1, 5, 60, 1000]) t.same(topKeys(items, k, dir === -1).map((x) => x.key), ref.slice(0, k), `first ${k}, direction ${dir}`);
  }
  t.same(topKeys(items, 0, false), []);
});

t.test('scalar filters (paging keysets) decide exactly what mingo decides', async (t) => {
  const filters: Filter[] = [
    { id: { $gt: 'a' } },
    { $or: [{ type: { $gt: 'Obs' } }, { type: { $eq: 'Obs' }, id: { $gt: 'Z' } }] },
    { $or: [{ type: { $lt: 'Observation' } }, { type: { $exists: false } }] },
    { $and: [{ lu: { $gte: 1020 } }, { lu: { $lt: 1030 } }, { id: { $in: ['a', '0', 'Z-'] } }] },
    { type: 'Patient', vid: { $lte: 2 } },
    { id: { $gt: 5 } }, // a number never compares with a string
    { lu: { $gt: '1000' } },
    { id: { $exists: true }, lu: { $eq: 1010 } },
  ];
  for (const f of filters) {
    const fast = compileScalarFilter(f);
    if (!fast) {
      t.fail(`not compiled: ${JSON.stringify(f)}`);
      continue;
    }
    const q = new Query(f);
    t.same(docs.filter((d) => fast(d)).map((d) => d.id), docs.filter((d) => q.test(d)).map((d) => d.id), JSON.stringify(f));
  }
  t.equal(compileScalarFilter({ 'idx.tok': { $elemMatch: { p: 'code' } } }), undefined, 'index fields are left to mingo');
  t.equal(compileScalarFilter({ id: { $regex: 'a' } }), undefined, 'unknown operators are left to mingo');
  t.equal(compileScalarFilter({ id: { $gt: { $ne: 1 } } }), undefined, 'an object operand is left to mingo');
});

t.test('stored JSON is spliced into a Bundle as it is, and a resource that was read out is serialised from the object', async (t) => {
  const stored = [JSON.stringify({ resourceType: 'Patient', id: 'a', name: [{ family: 'Ünïcode "q"' }] }), JSON.stringify({ resourceType: 'Condition', id: 'b' })];
  const bundle = () => ({
    resourceType: 'Bundle',
    type: 'searchset',
    total: 2,
    link: [{ relation: 'self', url: 'http://x/fhir/Patient?a=b' }],
    entry: [
      onX('Patient', 'a', stored[0], { mode: 'match' }),
      onX('Condition', 'b', stored[1], { mode: 'include' }),
      { resource: { resourceType: 'OperationOutcome', issue: [] }, search: { mode: 'outcome' } },
    ],
  });
  const plain = JSON.stringify({ ...bundle(), entry: bundle().entry.map((e) => ({ fullUrl: (e as { fullUrl?: string }).fullUrl, resource: e.resource, search: e.search })) });
  t.equal(serializeJson(bundle(), false), plain, 'same text as serialising the parsed resources');
  t.same(JSON.parse(serializeJson(bundle(), false)), JSON.parse(plain));
  t.equal(serializeJson(bundle(), true), JSON.stringify(JSON.parse(plain), null, 2), 'pretty output parses the resources');
  const b = bundle();
  (b.entry[0].resource as { id: string }).id = 'changed';
  t.match(serializeJson(b, false), /"id":"changed"/, 'a change to a resource that was read out is kept');
  t.equal(serializeJson({ resourceType: 'Patient', id: 'x' }, false), '{"resourceType":"Patient","id":"x"}');
});

t.test('an entry whose fullUrl or search was replaced is serialised from its fields', async (t) => {
  const e = onX('Patient', 'a', '{"resourceType":"Patient","id":"a"}', { mode: 'match' });
  const b = { resourceType: 'Bundle', type: 'searchset', entry: [e] };
  t.equal(serializeJson(b, false), '{"resourceType":"Bundle","type":"searchset","entry":[{"fullUrl":"http://x/fhir/Patient/a","resource":{"resourceType":"Patient","id":"a"},"search":{"mode":"match"}}]}');
  (e.search as { mode: string }).mode = 'include';
  t.match(serializeJson(b, false), /"search":\{"mode":"include"\}/, 'a change to search is kept');
  e.search = { mode: 'include', score: 1 };
  (e as { request?: unknown }).request = { method: 'GET', url: 'Patient/a' };
  t.same(JSON.parse(serializeJson(b, false)).entry[0], { fullUrl: 'http://x/fhir/Patient/a', resource: { resourceType: 'Patient', id: 'a' }, search: { mode: 'include', score: 1 }, request: { method: 'GET', url: 'Patient/a' } });
});

t.test('index-decided pages stay right while data changes: a commit to the type invalidates, one to another type does not', async (t) => {
  const { storeFactories } = await import('../helpers/stores.js');
  const { store, cleanup } = await storeFactories()[0].open();
  t.teardown(cleanup);
  const ref = (r: string) => ({ ref: [{ p: 'subject', r }] });
  const put = (type: string, id: string, r: string) => store.transact((tx) => tx.put({ type, id, resource: { resourceType: type, id } as never, idx: ref(r) }));
  for (let i = 0; i < 30; i++) await put('Observation', `o${String(i).padStart(2, '0')}`, i % 3 ? 'Patient/a' : 'Patient/b');
  const filter = { 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/a' } } };
  const page = async (dir: 1 | -1, limit = 5, skip = 0) =>
    (await store.find({ types: ['Observation'], filter, sort: [['type', dir], ['id', dir]], limit, skip })).map((v) => v.id);
  const expected = Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 3).map((i) => `o${String(i).padStart(2, '0')}`);
  for (let round = 0; round < 3; round++) {
    // the first round picks from the set, later rounds read the sorted keys
    t.same(await page(1), expected.slice(0, 5), `ascending, round ${round}`);
    t.same(await page(-1), expected.slice().reverse().slice(0, 5), `descending, round ${round}`);
    t.same(await page(1, 4, 3), expected.slice(3, 7), `skip, round ${round}`);
    t.equal(await store.count(['Observation'], filter), 20);
  }
  await put('Encounter', 'e1', 'Patient/a');
  t.same(await page(1), expected.slice(0, 5), 'a commit to another type changes nothing');
  await put('Observation', 'o00', 'Patient/a'); // moves o00 from b to a
  await put('Observation', 'o01', 'Patient/b'); // and o01 from a to b
  await store.transact((tx) => tx.put({ type: 'Observation', id: 'o02', expectVid: 1 })); // deletes o02
  t.same(await page(1), ['o00', 'o04', 'o05', 'o07', 'o08'], 'a commit to the type is seen at once');
  t.equal(await store.count(['Observation'], filter), 19);
});

t.test('an _id equality is decided from the keys: only live resources of the asked types count', async (t) => {
  const { storeFactories } = await import('../helpers/stores.js');
  const { store, cleanup } = await storeFactories()[0].open();
  t.teardown(cleanup);
  for (const id of ['a', 'b', 'c']) await store.transact((tx) => tx.put({ type: 'Patient', id, resource: { resourceType: 'Patient', id } as never, idx: {} }));
  await store.transact((tx) => tx.put({ type: 'Group', id: 'a', resource: { resourceType: 'Group', id: 'a' } as never, idx: {} }));
  await store.transact((tx) => tx.put({ type: 'Patient', id: 'b', expectVid: 1 })); // deleted
  const ids = async (filter: Record<string, unknown>) => (await store.find({ types: ['Patient'], filter, sort: [['type', 1], ['id', 1]], limit: 10 })).map((v) => v.id);
  t.same(await ids({ id: 'a' }), ['a']);
  t.same(await ids({ id: { $in: ['c', 'b', 'zz', 'a'] } }), ['a', 'c'], 'deleted and unknown ids are not matches');
  t.equal(await store.count(['Patient'], { id: { $in: ['b', 'zz'] } }), 0);
  t.equal(await store.count(['Patient', 'Group'], { id: 'a' }), 2);
  t.same(await ids({ $and: [{ id: { $in: ['a', 'c'] } }, { 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/x' } } }] }), [], 'and-ed with an index clause');
});

t.test('cursor pages over a decided filter, or over a whole type, give what mingo gives', async (t) => {
  const { storeFactories } = await import('../helpers/stores.js');
  const { store, cleanup } = await storeFactories()[0].open();
  t.teardown(cleanup);
  const ref = (r: string) => ({ ref: [{ p: 'subject', r }] });
  for (let i = 0; i < 60; i++) {
    const id = `o${String(i).padStart(2, '0')}`;
    await store.transact((tx) => tx.put({ type: 'Observation', id, resource: { resourceType: 'Observation', id } as never, idx: ref(i % 2 ? 'Patient/a' : 'Patient/b') }));
  }
  await store.transact((tx) => tx.put({ type: 'Observation', id: 'o07', expectVid: 1 })); // deleted
  const all = Array.from({ length: 60 }, (_, i) => ({ id: `o${String(i).padStart(2, '0')}`, odd: i % 2 === 1 })).filter((o) => o.id !== 'o07');
  const byA = { 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/a' } } };
  const after = (id: string) => ({ $or: [{ type: { $gt: 'Observation' } }, { $and: [{ type: { $eq: 'Observation' } }, { id: { $gt: id } }] }] });
  const before = (id: string) => ({ $or: [{ type: { $lt: 'Observation' } }, { type: { $exists: false } }, { $and: [{ type: { $eq: 'Observation' } }, { id: { $lt: id } }] }] });
  for (let round = 0; round < 2; round++) {
    const page = async (filter: Record<string, unknown>, dir: 1 | -1) => (await store.find({ types: ['Observation'], filter, sort: [['type', dir], ['id', dir]], limit: 5 })).map((v) => v.id);
    t.same(await page(after('o20'), 1), all.filter((o) => o.id > 'o20').slice(0, 5).map((o) => o.id), `whole type, after a cursor (round ${round})`);
    t.same(await page(before('o20'), -1), all.filter((o) => o.id < 'o20').reverse().slice(0, 5).map((o) => o.id), `whole type, before a cursor (round ${round})`);
    t.same(await page({ $and: [byA, after('o20')] }, 1), all.filter((o) => o.odd && o.id > 'o20').slice(0, 5).map((o) => o.id), `decided filter and a cursor (round ${round})`);
    t.same(await page({}, 1), all.slice(0, 5).map((o) => o.id), `whole type, first page (round ${round})`);
    t.equal(await store.count(['Observation'], {}), 59, 'count of a whole type leaves out the deleted');
  }
});

t.test('cursor keysets built by the search engine are recognised, and pages from the binary search match mingo', async (t) => {
  const { keysetFilter } = await import('../../src/search/cursor.js');
  const { keysetBound } = await import('../../src/store/embedded/keyset-bound.js');
  const { storeFactories } = await import('../helpers/stores.js');
  const specs = [{ field: 'type', dir: 1 as const }, { field: 'id', dir: 1 as const }];
  t.same(keysetBound(keysetFilter(specs, ['Observation', 'o20'], false)), { key: 'Observation/o20', after: true });
  t.same(keysetBound(keysetFilter(specs, ['Observation', 'o20'], true)), { key: 'Observation/o20', after: false });
  t.equal(keysetBound({ $or: [{ type: { $gt: 'A' } }, { $and: [{ type: { $eq: 'A' } }, { id: { $in: ['x'] } }] }] }), undefined, 'other shapes are not bounds');
  const { store, cleanup } = await storeFactories()[0].open();
  t.teardown(cleanup);
  const docs: Array<{ type: string; id: string }> = [];
  for (let i = 0; i < 80; i++) {
    const type = i % 4 ? 'Observation' : 'Condition';
    const id = `k${String((i * 37) % 80).padStart(2, '0')}`;
    docs.push({ type, id });
    await store.transact((tx) => tx.put({ type, id, resource: { resourceType: type, id } as never, idx: { ref: [{ p: 'subject', r: i % 3 ? 'Patient/a' : 'Patient/b' }] } }));
  }
  const types = ['Condition', 'Observation'];
  for (const base of [{}, { 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/a' } } }]) {
    for (const [cursor, reverse] of [[['Condition', 'k40'], false], [['Observation', 'k11'], false], [['Observation', 'k11'], true], [['Condition', 'zz'], true]] as const) {
      const filter = Object.keys(base).length ? { $and: [base, keysetFilter(specs, [...cursor], reverse)] } : keysetFilter(specs, [...cursor], reverse);
      const dir = reverse ? -1 : 1;
      // Computed in plain TypeScript: the keys in order, on the right side of the cursor.
      const key = cursor.join('/');
      const expected = docs
        .map((d, i) => ({ k: `${d.type}/${d.id}`, a: i % 3 !== 0 }))
        .filter((d) => (Object.keys(base).length ? d.a : true) && (reverse ? d.k < key : d.k > key))
        .map((d) => d.k)
        .sort()
        [reverse ? 'reverse' : 'slice']()
        .slice(0, 7);
      for (let round = 0; round < 3; round++) {
        const got = (await store.find({ types, filter, sort: [['type', dir], ['id', dir]], limit: 7 })).map((v) => `${v.type}/${v.id}`);
        t.same(got, expected, `${JSON.stringify(base).slice(0, 20)} ${cursor.join('/')} ${reverse ? 'before' : 'after'}, round ${round}`);
      }
    }
  }
});

t.test('an _id page stays decided by the keys (not a scan of every resource of the type)', async (t) => {
  const { storeFactories } = await import('../helpers/stores.js');
  const { store, cleanup } = await storeFactories()[0].open();
  t.teardown(cleanup);
  for (let i = 0; i < 50; i++) await store.transact((tx) => tx.put({ type: 'Patient', id: `p${i}`, resource: { resourceType: 'Patient', id: `p${i}` } as never, idx: {} }));
  const spied = store as unknown as { liveVersion: (k: string) => unknown };
  const original = spied.liveVersion.bind(store);
  let looks = 0;
  spied.liveVersion = (k: string) => (looks++, original(k));
  const ids = (await store.find({ types: ['Patient'], filter: { id: 'p7' }, sort: [['type', 1], ['id', 1]], limit: 20 })).map((v) => v.id);
  t.same(ids, ['p7']);
  t.ok(looks <= 2, `looked at ${looks} resource(s)`);
});

type PlanExact = (types: readonly string[], d: { key: string }) => { walked: number; run(): unknown } | undefined;
/**
 * The store's hash indexes, and the memo keys of the decisions whose keys they computed, in
 * order: a spy on the runs of planExact (the store asks with the filter read once, a Decision).
 */
function exactRuns(store: unknown) {
  const hash = (store as { hash: { planExact: PlanExact; decision: (f: object) => { key: string } | undefined } }).hash;
  const original = hash.planExact.bind(hash);
  const asked: string[] = [];
  hash.planExact = (types, d) => {
    const planned = original(types, d);
    return planned && { walked: planned.walked, run: () => (asked.push(d.key), planned.run()) };
  };
  return { hash, asked };
}

t.test('undecided queries do not push a decided query out of the decided-sets memo', async (t) => {
  const { storeFactories } = await import('../helpers/stores.js');
  const { store, cleanup } = await storeFactories()[0].open();
  t.teardown(cleanup);
  // Patient/b has 300 resources: its answer is worth keeping (see the next test for small ones).
  await store.transact(async (tx) => {
    for (let i = 0; i < 30; i++) {
      const ref = [{ p: 'subject', r: i % 3 ? 'Patient/a' : 'Patient/b' }];
      await tx.put({ type: 'Observation', id: `o${String(i).padStart(2, '0')}`, resource: { resourceType: 'Observation' } as never, idx: { ref } });
    }
    for (let i = 0; i < 290; i++) await tx.put({ type: 'Observation', id: `x${i}`, resource: { resourceType: 'Observation' } as never, idx: { ref: [{ p: 'subject', r: 'Patient/b' }] } });
  });
  const { hash, asked } = exactRuns(store);
  const decided = { 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/b' } } };
  const decidedKey = hash.decision(decided)!.key;
  t.equal(await store.count(['Observation'], decided), 300);
  // More undecided queries (each an id range, evaluated per resource) than the memo keeps.
  for (let i = 0; i < 20; i++) t.equal(await store.count(['Observation'], { id: { $gt: `o${String(i).padStart(2, '0')}`, $lt: 'p' } }), 29 - i);
  t.equal(await store.count(['Observation'], decided), 300);
  t.equal(asked.filter((f) => f === decidedKey).length, 1, 'the decided keys were computed once');
});

t.test('patient-scoped queries are computed again rather than push a population query out of the decided-sets memo', async (t) => {
  const { storeFactories, TEST_INDEXES } = await import('../helpers/stores.js');
  const { store, cleanup } = await storeFactories()[0].open([...TEST_INDEXES, { type: 1, 'idx.tok.p': 1, 'idx.tok.c': 1, 'idx.tok.s': 1 }]);
  t.teardown(cleanup);
  // 100 patients with 3 Observations each, all 'final': the population query walks the status
  // bucket (300 keys, worth keeping), a patient query only that patient's 3.
  await store.transact(async (tx) => {
    for (let p = 0; p < 100; p++) {
      for (let i = 0; i < 3; i++) {
        await tx.put({ type: 'Observation', id: `p${p}-${i}`, resource: { resourceType: 'Observation' } as never, idx: { ref: [{ p: 'subject', r: `Patient/${p}` }], tok: [{ p: 'status', c: 'final' }] } });
      }
    }
  });
  const { hash, asked } = exactRuns(store);
  const population = { 'idx.tok': { $elemMatch: { p: 'status', c: 'final' } } };
  const populationKey = hash.decision(population)!.key;
  t.equal(await store.count(['Observation'], population), 300);
  const patient = (p: number) => ({ $and: [{ 'idx.ref': { $elemMatch: { p: 'subject', r: `Patient/${p}` } } }, population] });
  // Twice as many patient queries as the memo has places, each asked twice: still exact answers.
  for (let p = 0; p < 32; p++) {
    t.equal(await store.count(['Observation'], patient(p)), 3);
    t.equal((await store.find({ types: ['Observation'], filter: patient(p), sort: [['type', 1], ['id', 1]], limit: 2 })).length, 2);
  }
  t.equal(await store.count(['Observation'], population), 300);
  t.equal(asked.filter((k) => k === populationKey).length, 1, 'the population query was computed once');
  const patientKey = hash.decision(patient(5))!.key;
  t.equal(asked.filter((k) => k === patientKey).length, 2, 'a patient query is computed each time it is asked');
});

/** Counts the documents mingo tests until the end of the test. */
function countMingoTests(t: { teardown(fn: () => void): void }): { tested: number } {
  const original = Query.prototype.test;
  const count = { tested: 0 };
  Query.prototype.test = function (this: Query, doc: unknown) {
    count.tested++;
    return original.call(this, doc as never);
  } as typeof original;
  t.teardown(() => {
    Query.prototype.test = original;
  });
  return count;
}

t.test('a filter the indexes decide nothing of is scanned with its compiled test, not mingo per document', async (t) => {
  const { storeFactories } = await import('../helpers/stores.js');
  const { store, cleanup } = await storeFactories()[0].open();
  t.teardown(cleanup);
  await store.transact(async (tx) => {
    for (let i = 0; i < 50; i++) {
      await tx.put({ type: 'Encounter', id: `e${i}`, resource: { resourceType: 'Encounter' } as never, idx: { dt: [{ p: 'date', lo: 1000 * i, hi: 1000 * i + 999 }] } });
    }
  });
  const filter = { 'idx.dt': { $elemMatch: { p: 'date', lo: { $gte: 40_000 } } } };
  const mingo = countMingoTests(t);
  t.equal(await store.count(['Encounter'], filter), 10);
  t.same((await store.find({ types: ['Encounter'], filter, sort: [['type', 1], ['id', 1]], limit: 3 })).map((v) => v.id), ['e40', 'e41', 'e42']);
  t.equal(mingo.tested, 0, 'no document went through mingo');
});

t.test('a conjunction whose clauses the indexes decide one by one (not as a whole) is answered by them', async (t) => {
  const { storeFactories } = await import('../helpers/stores.js');
  const { store, cleanup } = await storeFactories()[0].open();
  t.teardown(cleanup);
  await store.transact(async (tx) => {
    for (let i = 0; i < 20; i++) await tx.put({ type: 'Observation', id: `o${i}`, resource: { resourceType: 'Observation' } as never, idx: { ref: [{ p: 'subject', r: `Patient/${i % 4}` }] } });
  });
  // A clause of two fields inside $and: the whole filter is no shape the indexes read, each clause is.
  const filter = { $and: [{ 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/2' } }, id: 'o6' }, {}] };
  const mingo = countMingoTests(t);
  t.equal(await store.count(['Observation'], filter), 1);
  t.same((await store.find({ types: ['Observation'], filter, sort: [['type', 1], ['id', 1]], limit: 5 })).map((v) => v.id), ['o6']);
  t.equal(mingo.tested, 0, 'no document went through mingo');
});

t.test('decided answers are the current versions: after updates, deletes and a reindex, kept or computed again, paged or not', async (t) => {
  const { storeFactories, TEST_INDEXES } = await import('../helpers/stores.js');
  for (const factory of storeFactories()) {
    const { store, cleanup } = await factory.open([...TEST_INDEXES, { type: 1, 'idx.tok.p': 1, 'idx.tok.c': 1, 'idx.tok.s': 1 }]);
    t.teardown(cleanup);
    const obs = (i: number, v: string) => ({ resourceType: 'Observation', status: 'final', valueString: v, subject: { reference: `Patient/${i % 3}` } }) as never;
    const idx = (i: number) => ({ ref: [{ p: 'subject', r: `Patient/${i % 3}` }], tok: [{ p: 'status', c: 'final' }] });
    // 300 in the population (worth keeping in the memo), 100 per patient. One write per
    // transaction: the suite also runs on servers without multi-document transactions.
    for (let i = 0; i < 300; i++) await store.transact((tx) => tx.put({ type: 'Observation', id: `o${String(i).padStart(3, '0')}`, resource: obs(i, 'first'), idx: idx(i) }));
    const population = { 'idx.tok': { $elemMatch: { p: 'status', c: 'final' } } };
    const patient = { $and: [{ 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/1' } } }, population] };
    const byId = { $and: [{ id: { $in: ['o001', 'o004', 'o100'] } }, population] };
    const order = [['type', 1], ['id', 1]] as Array<[string, 1 | -1]>;
    /** Every version found is the one a read gives, and its content says which write made it. */
    const current = async (what: string, filter: Filter, limit: number) => {
      for (let pass = 0; pass < 2; pass++) {
        const found = await store.find({ types: ['Observation'], filter, sort: order, limit });
        for (const v of found) {
          const read = await store.read('Observation', v.id);
          if (v.vid !== read?.vid || v.json !== read.json) return t.fail(`${factory.name}: ${what}: ${v.id} is version ${v.vid}, the current is ${read?.vid}`);
        }
        // The second page, by the keyset cursor of the first.
        const last = found[found.length - 1];
        const next = await store.find({ types: ['Observation'], filter: { $and: [filter, { $or: [{ type: { $gt: 'Observation' } }, { type: 'Observation', id: { $gt: last.id } }] }] }, sort: order, limit });
        for (const v of next) t.equal(v.vid, (await store.read('Observation', v.id))?.vid, `${factory.name}: ${what}, second page: ${v.id}`);
      }
      t.pass(`${factory.name}: ${what}`);
    };
    for (const [what, filter] of [['population', population], ['patient', patient], ['_id', byId]] as const) await current(`${what} before`, filter, 2);
    // Updates of the first matches, a deletion, and a reindex that moves one to another patient.
    for (const i of [0, 1, 4, 7, 100]) await store.transact((tx) => tx.put({ type: 'Observation', id: `o${String(i).padStart(3, '0')}`, resource: obs(i, 'second'), idx: idx(i), expectVid: 1 }));
    await store.transact((tx) => tx.put({ type: 'Observation', id: 'o010', expectVid: 1 }));
    t.equal(await store.setIndex('Observation', 'o013', 1, { ref: [{ p: 'subject', r: 'Patient/2' }], tok: [{ p: 'status', c: 'final' }] } as never), true);
    for (const [what, filter] of [['population', population], ['patient', patient], ['_id', byId]] as const) await current(`${what} after`, filter, 2);
    t.equal(await store.count(['Observation'], population), 299, `${factory.name}: the deleted one is gone`);
    t.equal(await store.count(['Observation'], patient), 98, `${factory.name}: Patient/1's 100, less o010 (deleted) and o013 (reindexed to Patient/2)`);
    const firstOfPatient = await store.find({ types: ['Observation'], filter: patient, sort: order, limit: 3 });
    t.same(firstOfPatient.map((v) => [v.id, v.vid]), [['o001', 2], ['o004', 2], ['o007', 2]], `${factory.name}: the patient's first page, updated`);
  }
});
