import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Query } from 'mingo';
import type { Resource } from 'fhir/r4.js';
import { compileElemFilter } from '../../src/store/embedded/elem-filter.js';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';
import type { Filter, IndexValues } from '../../src/store/port.js';

/** A small deterministic generator (no Math.random: a failure must reproduce). */
function rng(seed: number) {
  let x = seed;
  return (n: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
}

/** Index elements as the search layer writes them, plus the odd shapes mingo must be asked about. */
function element(r: (n: number) => number): unknown {
  switch (r(12)) {
    case 0:
      return { p: 'date', lo: r(10) };
    case 1:
      return { p: 'date', lo: String(r(10)), hi: r(10) };
    case 2:
      return { p: 'date', lo: [r(10), r(10)], hi: r(10) };
    case 3:
      return { p: 'date', lo: null, hi: r(10) };
    case 4:
      return 'date';
    case 5:
      return { p: ['date', 'x'], lo: r(10), hi: r(10) };
    case 6:
      return { p: 'other', lo: r(10), hi: r(10) + 10 };
    case 7:
      return { p: 'date', lo: r(10), hi: r(10) + 10, x: r(2) === 0 };
    default:
      return { p: 'date', lo: r(10), hi: r(10) + r(10) };
  }
}

function doc(r: (n: number) => number, i: number): object {
  const shape = r(10);
  const dt = shape === 0 ? undefined : shape === 1 ? { p: 'date', lo: 1, hi: 2 } : Array.from({ length: r(4) }, () => element(r));
  return { type: 'Encounter', id: `e${i}`, lu: r(20), idx: { dt, n: shape === 2 ? [r(5)] : r(5), s: r(3) === 0 ? 'b' : 'a' } };
}

type Asserts = Pick<typeof t, 'ok' | 'equal'>;

/** Checks that the filter compiles and that every verdict it gives is mingo's; how many it gave, and how many matched. */
function likeMingo(t: Asserts, filter: Filter, docs: object[]): { decided: number; matched: number } {
  const fast = compileElemFilter(filter);
  t.ok(fast, `compiled: ${JSON.stringify(filter)}`);
  const q = new Query(filter);
  let decided = 0;
  let matched = 0;
  let mismatches = 0;
  for (const d of docs) {
    const v = fast?.(d);
    if (v === undefined) continue;
    decided++;
    if (v) matched++;
    if (v !== q.test(d as Record<string, unknown>)) mismatches++;
  }
  t.equal(mismatches, 0, `same answers as mingo: ${JSON.stringify(filter)}`);
  return { decided, matched };
}

const FILTERS: Filter[] = [
  { 'idx.dt': { $elemMatch: { p: 'date', $or: [{ hi: { $gt: 5 } }, { lo: { $gte: 2 }, hi: { $lte: 5 } }] } } },
  { $and: [{ 'idx.dt': { $elemMatch: { p: 'date', lo: { $lt: 4 } } } }, { 'idx.dt': { $elemMatch: { p: 'date', hi: { $gte: 3 } } } }] },
  { 'idx.dt': { $elemMatch: { p: { $in: ['date', 'other'] }, lo: { $gte: 2, $lte: 7 } } } },
  { 'idx.dt': { $elemMatch: { p: 'date', lo: '3' } } },
  { 'idx.dt': { $elemMatch: { p: 'date', x: true } } },
  { 'idx.n': 3 },
  { 'idx.n': { $in: [1, 2, '3'] } },
  { $or: [{ 'idx.s': 'b' }, { lu: { $gt: 10 } }] },
  { 'idx.s': { $gt: 'a' }, lu: { $lte: 5 } },
  { 'idx.dt.p': 'date' },
];

t.test('where the compiled filter decides, it answers like mingo; elsewhere it leaves the document to mingo', async (t) => {
  const r = rng(7);
  const docs = Array.from({ length: 600 }, (_, i) => doc(r, i));
  for (const filter of FILTERS) {
    const { decided } = likeMingo(t, filter, docs);
    t.ok(decided > 100, `decided most documents itself (${decided} of ${docs.length})`);
  }
});

t.test('string searches ($regex, and an OR list of them merged into one RegExp) answer like mingo', async (t) => {
  const lcg = rng(5);
  const r = (n: number) => lcg(997) % n; // a prime modulus: the generator's low bits alone repeat too soon
  const words = ['smith', 'smyth', 'jones', 'blood pressure', 'body weight', 'a.b', 'x|y', '(z)'];
  const strEl = () => (r(9) === 0 ? { p: 'name', v: [words[r(8)]] } : r(9) === 0 ? { p: 'name', v: 7 } : { p: r(4) === 0 ? 'family' : 'name', v: `${words[r(8)]} ${words[r(8)]}` });
  const docs = Array.from({ length: 600 }, (_, i) => ({ type: 'Patient', id: `p${i}`, idx: { str: r(8) === 0 ? undefined : Array.from({ length: r(4) }, strEl) } }));
  const em = (v: Filter) => ({ 'idx.str': { $elemMatch: { p: 'name', v } } });
  const filters: Filter[] = [
    em({ $regex: '^smi' }),
    em({ $regex: '(^|\\s)pressure' }),
    em({ $regex: '^SM', $options: 'i' }),
    { $or: [em({ $regex: '^smi' }), em({ $regex: '^jon' }), em({ $regex: 'a\\.b' })] },
    { $or: [em({ $regex: '^x\\|y' }), em({ $regex: '\\(z\\)' })] },
    { $or: [em({ $regex: '^smi' }), { 'idx.str': { $elemMatch: { p: 'family', v: { $regex: '^jon' } } } }] },
  ];
  for (const filter of filters) {
    const { decided, matched } = likeMingo(t, filter, docs);
    t.ok(decided > 300 && matched > 0, `decided ${decided}, matched ${matched}`);
  }
});

t.test('shapes it does not know are not compiled', async (t) => {
  for (const f of [
    { 'idx.dt': { $elemMatch: { p: 'date', lo: { $ne: 3 } } } },
    { 'idx.s': { $regex: /^a/ } },
    { 'idx.s': { $exists: true } },
    { $nor: [{ 'idx.s': 'a' }] },
    { 'idx.dt': { $elemMatch: { $gt: 3 } } },
    { 'idx.n': null },
    { 'idx.dt': { p: 'date' } },
  ] as Filter[]) {
    t.equal(compileElemFilter(f), undefined, JSON.stringify(f));
  }
});

t.test('a store evaluating a date residual on the indexes\' set answers like a store without indexes', async (t) => {
  const dirs = [0, 1].map((i) => mkdtempSync(join(tmpdir(), `ccm-elem${i}-`)));
  t.teardown(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const specs: Array<Record<string, 1 | -1>> = [{ type: 1, 'idx.tok.p': 1, 'idx.tok.c': 1, 'idx.tok.s': 1 }];
  const indexed = new EmbeddedStore({ dataDir: dirs[0], indexes: specs, eagerHash: ['idx.tok'] });
  const plain = new EmbeddedStore({ dataDir: dirs[1] });
  const r = rng(11);
  const rows = Array.from({ length: 300 }, (_, i) => ({
    id: `e${String(i).padStart(3, '0')}`,
    idx: { tok: [{ p: 'type', s: 'sys', c: i % 3 ? 'time' : 'visit' }], dt: Array.from({ length: r(3) }, () => element(r)) } as unknown as IndexValues,
  }));
  for (const s of [indexed, plain]) {
    await s.init();
    await s.transact(async (tx) => {
      for (const row of rows) await tx.put({ type: 'Encounter', id: row.id, resource: { resourceType: 'Encounter' } as Resource, idx: row.idx });
    });
  }
  const tok = { 'idx.tok': { $elemMatch: { p: 'type', c: 'time', s: 'sys' } } };
  for (const date of FILTERS.slice(0, 3)) {
    const filter = { $and: [tok, date] };
    const a = (await indexed.find({ types: ['Encounter'], filter, sort: [['id', 1]] })).map((v) => v.id);
    const b = (await plain.find({ types: ['Encounter'], filter, sort: [['id', 1]] })).map((v) => v.id);
    t.same(a, b, JSON.stringify(date));
    t.ok(b.length > 0, 'something matches');
    t.same(await indexed.distinct({ types: ['Encounter'], filter, field: 'idx.tok', key: 'c', limit: 10 }), await plain.distinct({ types: ['Encounter'], filter, field: 'idx.tok', key: 'c', limit: 10 }));
  }
  await indexed.close();
  await plain.close();
});
