import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from 'fhir/r4.js';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';
import { HashIndexes, type Member } from '../../src/store/embedded/hash-index.js';
import type { Filter, IndexValues } from '../../src/store/port.js';

const SPECS: Array<Record<string, 1 | -1>> = [
  { type: 1, 'idx.ref.p': 1, 'idx.ref.r': 1 },
  { type: 1, 'idx.tok.p': 1, 'idx.tok.c': 1, 'idx.tok.s': 1 },
];
const EAGER = ['idx.ref', 'idx.tok'];
const res = (i: number) => ({ resourceType: 'Observation', status: 'final', valueInteger: i }) as unknown as Resource;
const idxOf = (i: number, patient = i % 5): IndexValues =>
  ({
    ref: [{ p: 'subject', r: `Patient/${patient}` }],
    tok: [
      { p: 'status', s: 'sys', c: i % 3 ? 'final' : 'amended' },
      { p: 'num', c: i % 2 ? 1 : '1' },
    ],
  }) as unknown as IndexValues;

const FILTERS: Filter[] = [
  { 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/2' } } },
  { 'idx.ref': { $elemMatch: { p: 'subject', r: { $in: ['Patient/1', 'Patient/9'] } } } },
  { 'idx.tok': { $elemMatch: { p: 'num', c: 1 } } },
  { 'idx.tok': { $elemMatch: { p: 'num', c: '1' } } },
  { 'idx.tok': { $elemMatch: { p: 'status', c: 'final', s: 'sys' } } },
  // a bucket's system is uniform until r201 (below) brings another one: both ways must answer alike
  { 'idx.tok': { $elemMatch: { p: 'status', c: 'final', s: 'other' } } },
  { 'idx.tok': { $elemMatch: { p: 'status', c: 'amended', s: 'other' } } },
  { 'idx.tok': { $elemMatch: { p: 'status', c: { $in: ['final', 'amended'] }, s: 'sys' } } },
  { $and: [{ 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/3' } } }, { 'idx.tok': { $elemMatch: { p: 'status', c: 'amended' } } }] },
  // with 3,000 resources, the patient's members are walked and the large 'final' bucket probed by its bits
  { $and: [{ 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/3' } } }, { 'idx.tok': { $elemMatch: { p: 'status', c: 'final' } } }] },
  { $and: [{ 'idx.ref': { $elemMatch: { p: 'subject', r: { $in: ['Patient/2', 'Patient/4'] } } } }, { 'idx.tok': { $elemMatch: { p: 'status', c: 'final' } } }] },
  { $and: [{ 'idx.tok': { $elemMatch: { p: 'status', c: 'final' } } }, { id: { $gt: 'r50' } }] },
];

/** The ids each filter finds, over both types, in id order. */
async function answers(s: EmbeddedStore): Promise<string[][]> {
  const out: string[][] = [];
  for (const filter of FILTERS) {
    for (const types of [['Observation'], ['Observation', 'Condition']]) {
      out.push((await s.find({ types, filter, sort: [['id', 1]] })).map((v) => `${v.type}/${v.id}`));
      out.push([String(await s.count(types, filter))]);
    }
  }
  return out;
}

// 3,000 resources make buckets large enough to keep bits by slot (hash-index.ts Bucket).
for (const n of [100, 3000]) {
  t.test(`eager hash indexes answer like lazy ones and like no index, through writes, deletes, reindex and reopen (${n} resources)`, async (t) => {
    const dirs = [0, 1, 2].map((i) => mkdtempSync(join(tmpdir(), `ccm-eager${i}-`)));
    t.teardown(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
    const open = async (i: number) => {
      const s = new EmbeddedStore(i === 0 ? { dataDir: dirs[0], indexes: SPECS, eagerHash: EAGER } : i === 1 ? { dataDir: dirs[1], indexes: SPECS } : { dataDir: dirs[2] });
      await s.init();
      return s;
    };
    let stores = [await open(0), await open(1), await open(2)];
    const same = async (what: string) => {
      const [eager, lazy, plain] = await Promise.all(stores.map(answers));
      t.same(eager, plain, `eager = no index: ${what}`);
      t.same(lazy, plain, `lazy = no index: ${what}`);
      t.ok(plain.some((a) => a.length > 1 || (a.length === 1 && a[0] !== '0')), `something matches: ${what}`);
    };
    for (const s of stores) {
      await s.transact(async (tx) => {
        for (let i = 0; i < n; i++) await tx.put({ type: i % 4 ? 'Observation' : 'Condition', id: `r${i}`, resource: res(i), idx: idxOf(i) });
      });
    }
    await same('after the first writes');
    // Writes after the lazy indexes were built: an update moving a resource to another patient,
    // a deletion, a new resource, and a reindex (new index values, no new version).
    for (const s of stores) {
      await s.transact(async (tx) => {
        await tx.put({ type: 'Observation', id: 'r1', resource: res(1), idx: idxOf(1, 2), expectVid: 1 });
        await tx.put({ type: 'Observation', id: 'r2', expectVid: 1 });
        await tx.put({ type: 'Observation', id: 'r200', resource: res(200), idx: idxOf(200, 3) });
        await tx.put({ type: 'Observation', id: 'r201', resource: res(201), idx: { tok: [{ p: 'status', s: 'other', c: 'final' }] } as unknown as IndexValues });
      });
      t.equal(await s.setIndex('Observation', 'r3', 1, idxOf(3, 9)), true);
    }
    await same('after updates, a deletion, a creation and a reindex');
    // A deleted resource made again (it keeps its slot), and one leaving the large 'final' bucket.
    for (const s of stores) {
      await s.transact(async (tx) => {
        await tx.put({ type: 'Observation', id: 'r2', resource: res(2), idx: idxOf(2, 3) });
        await tx.put({ type: 'Observation', id: 'r13', resource: res(13), idx: { ref: [{ p: 'subject', r: 'Patient/3' }], tok: [{ p: 'status', s: 'sys', c: 'amended' }] } as unknown as IndexValues, expectVid: 1 });
        await tx.put({ type: 'Observation', id: 'r23', expectVid: 1 });
      });
    }
    await same('after a re-creation, a status change and another deletion');
    await Promise.all(stores.map((s) => s.close()));
    stores = [await open(0), await open(1), await open(2)];
    await same('after reopening (the commit log replayed)');
    await Promise.all(stores.map((s) => s.close()));
  });
}

/** Members (key and search document) given to hash indexes, and how often a lazy index walked them all. */
function liveSet() {
  const docs = new Map<string, Member>();
  const counter = { walks: 0 };
  const liveDocs = function* () {
    counter.walks++;
    yield* docs.values();
  };
  const memberOf = (key: string) => docs.get(key);
  /** Observations r0..r(n-1), written to each of the indexes. */
  const add = (n: number, ...indexes: Array<HashIndexes<Member>>) => {
    for (let i = 0; i < n; i++) {
      const m = { key: `Observation/r${i}`, doc: { type: 'Observation', idx: idxOf(i) as unknown as Record<string, unknown> }, slot: i };
      docs.set(m.key, m);
      for (const ix of indexes) ix.update(m, true);
    }
  };
  return { docs, counter, liveDocs, memberOf, add };
}

/** The keys of what exact() found, sorted. */
const keysOf = (found: Set<Member> | undefined) => [...found!].map((m) => m.key).sort();

t.test('an eager index is kept from the first write: no query walks the live documents', async (t) => {
  const { docs, counter, liveDocs, memberOf, add } = liveSet();
  const eager = new HashIndexes(SPECS, liveDocs, memberOf, ['idx.ref']);
  const lazy = new HashIndexes(SPECS, liveDocs, memberOf);
  add(20, eager, lazy);
  const filter = { 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/4' } } };
  const expected = ['Observation/r14', 'Observation/r19', 'Observation/r4', 'Observation/r9'];
  t.same(keysOf(eager.exact(['Observation'], filter)), expected);
  t.equal(counter.walks, 0, 'the eager index answered without a walk');
  t.same(keysOf(lazy.exact(['Observation'], filter)), expected);
  t.equal(counter.walks, 1, 'the lazy index walked the documents once, on first use');
  lazy.exact(['Observation'], filter);
  t.equal(counter.walks, 1, 'and not again');
  // _id: the members of those keys, with the other clauses applied.
  t.same(keysOf(eager.exact(['Observation'], { $and: [{ id: { $in: ['r4', 'r5', 'r9', 'r99'] } }, filter] })), ['Observation/r4', 'Observation/r9']);
  // A removed document leaves its buckets; an emptied bucket answers nothing.
  for (const i of [4, 9, 14, 19]) eager.update(docs.get(`Observation/r${i}`)!, false);
  t.same(keysOf(eager.exact(['Observation'], filter)), []);
  // The token index is not eager here: it is built on its first use, from the same documents.
  t.same(eager.exact(['Observation'], { 'idx.tok': { $elemMatch: { p: 'num', c: '1' } } })!.size, 10);
  t.equal(counter.walks, 2);
});

t.test('decision() answers from the shape alone, exactly when exact() decides', async (t) => {
  const { counter, liveDocs, memberOf, add } = liveSet();
  const ix = new HashIndexes(SPECS, liveDocs, memberOf);
  add(10, ix);
  const notDecided: Filter[] = [
    {},
    { 'idx.ref': { $elemMatch: { p: 'subject' } } },
    { 'idx.ref': { $elemMatch: { p: 'subject', r: { $regex: '^Patient/' } } } },
    { 'idx.tok': { $elemMatch: { p: 'status', c: 'final', s: { $exists: true } } } },
    { 'idx.dt': { $elemMatch: { p: 'date', lo: 1 } } },
    { id: { $gt: 'r5' } },
    { $and: [{ 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/2' } }, id: 'r2' }] },
    { $and: [{ 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/2' } } }, { id: { $gt: 'r5' } }] },
  ];
  for (const f of notDecided) t.equal(ix.decision(f), undefined, JSON.stringify(f));
  const decided: Filter[] = [...FILTERS.slice(0, -1), { id: { $in: ['r1', 'r2'] } }, { $and: [{ id: 'r2' }, FILTERS[0]] }];
  for (const f of decided) t.ok(ix.decision(f), JSON.stringify(f));
  t.equal(counter.walks, 0, 'asking decision() builds no lazy index');
  for (const f of [...notDecided, ...decided]) {
    t.equal(ix.exact(['Observation'], f) !== undefined, ix.decision(f) !== undefined, `exact agrees: ${JSON.stringify(f)}`);
  }
});
