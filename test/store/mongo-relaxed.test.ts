// Filters for servers that misanswer $elemMatch (FerretDB 1.x): the relaxation is a superset
// that such a server answers correctly (pure tests), and the stores answer the search shapes
// of the compiler exactly as mingo does on the documents (every adapter; MongoDB/FerretDB when
// MONGODB_URI is set), without multi-resource transactions. Then the MongoDB adapter's repair
// of a version left in history by a crash, and its write conflicts without transactions.
import t from 'tap';
import { Query } from 'mingo';
import type { Resource } from 'fhir/r4.js';
import { defaultScalarPath, isAnchoredRegex, relaxFilter } from '../../src/store/mongo/relax.js';
import { storeFactories } from '../helpers/stores.js';
import { MongoStore, ORPHAN_AFTER_MS } from '../../src/store/mongo/mongo-store.js';
import { VersionConflict, type Filter } from '../../src/store/port.js';
import { versionKey } from '../../src/store/stamp.js';
import { reindexAll } from '../../src/search/reindex.js';

const elem = (field: string, p: string, cond: Filter = {}): Filter => ({ [`idx.${field}`]: { $elemMatch: { p, ...cond } } });

/** Search documents (as stored beside resources), with decoys for what FerretDB gets wrong. */
const docs: Array<{ type: string; id: string; lu: number; idx: Record<string, unknown> }> = [
  // subject matches in one entry, performer in another
  { type: 'Observation', id: 'o1', lu: 1, idx: { ref: [{ p: 'subject', r: 'Patient/1' }, { p: 'performer', r: 'Practitioner/1' }], dt: [{ p: 'date', lo: 100, hi: 200 }], srt: { date: { a: 100, d: 200 } } } },
  // decoy: p and r in different entries
  { type: 'Observation', id: 'o2', lu: 2, idx: { ref: [{ p: 'subject', r: 'Practitioner/1' }, { p: 'performer', r: 'Patient/1' }], dt: [{ p: 'date', lo: 50, hi: 60 }, { p: 'issued', lo: 150, hi: 150 }], srt: { date: { a: 50, d: 60 } } } },
  // decoy for ranges: lo and hi satisfied by different entries
  { type: 'Observation', id: 'o3', lu: 3, idx: { ref: [{ p: 'subject', r: 'Patient/2' }], dt: [{ p: 'date', lo: 10, hi: 20 }, { p: 'date', lo: 300, hi: 400 }] } },
  {
    type: 'Observation',
    id: 'o4',
    lu: 4,
    idx: {
      ref: [{ p: 'subject', r: 'Patient/1' }],
      tok: [{ p: 'code', s: 'http://loinc.org', c: '8480-6', t: 'systolic blood pressure' }, { p: 'status', c: 'final' }],
      cmp: [{ p: 'code-value-quantity', k0: [{ s: 'http://loinc.org', c: '8480-6' }], k1: [{ lo: 120, hi: 120, c: 'mm[Hg]' }] }],
    },
  },
  // composite decoy: code of one component entry, value of another
  {
    type: 'Observation',
    id: 'o5',
    lu: 5,
    idx: {
      tok: [{ p: 'code', c: '8480-6' }, { p: 'status', c: 'amended' }],
      cmp: [
        { p: 'code-value-quantity', k0: [{ s: 'http://loinc.org', c: '8480-6' }], k1: [{ lo: 90, hi: 90 }] },
        { p: 'code-value-quantity', k0: [{ s: 'http://loinc.org', c: '8462-4' }], k1: [{ lo: 120, hi: 120 }] },
      ],
    },
  },
  { type: 'Patient', id: '1', lu: 6, idx: { str: [{ p: 'name', v: 'smith john', x: 'Smith' }, { p: 'family', v: 'smith', x: 'Smith' }], tok: [{ p: 'gender', c: 'male' }], srt: { name: { a: 'smith', d: 'smith' } } } },
  { type: 'Patient', id: '2', lu: 7, idx: { str: [{ p: 'name', v: 'jones amy', x: 'Jones' }, { p: 'family', v: 'smithers', x: 'Smithers' }], tok: [{ p: 'gender', c: 'female' }] } },
  { type: 'Patient', id: '3', lu: 8, idx: {} },
];

/** Shapes the search compiler emits (src/search/compile*.ts). */
const filters: Array<[string, Filter]> = [
  ['reference', elem('ref', 'subject', { r: 'Patient/1' })],
  ['reference $in', elem('ref', 'subject', { r: { $in: ['Patient/1', 'Patient/2'] } })],
  ['compartment', { $or: [elem('ref', 'subject', { r: 'Patient/1' }), elem('ref', { $in: ['performer', 'subject'] } as unknown as string, { r: 'Patient/1' })] }],
  ['date eq (contained)', elem('dt', 'date', { lo: { $gte: 100 }, hi: { $lte: 250 } })],
  ['date range decoy', elem('dt', 'date', { lo: { $gte: 250 }, hi: { $lte: 30 } })],
  ['date ne', elem('dt', 'date', { $or: [{ lo: { $lt: 100 } }, { hi: { $gt: 200 } }] })],
  ['date ap', elem('dt', 'date', { lo: { $lte: 210 }, hi: { $gte: 90 } })],
  ['string prefix', elem('str', 'name', { v: { $regex: '^smith' } })],
  ['string contains', elem('str', 'name', { v: { $regex: 'mit' } })],
  ['token', elem('tok', 'code', { s: 'http://loinc.org', c: { $in: ['8480-6', '8462-4'] } })],
  ['token no system', elem('tok', 'code', { c: '8480-6', s: { $exists: false } })],
  ['token :text', elem('tok', 'code', { t: { $regex: '^systolic' } })],
  ['token :not', { $nor: [elem('tok', 'status', { c: 'final' })] }],
  ['missing=true', { $nor: [elem('str', 'name')] }],
  ['missing=false', elem('str', 'name')],
  ['composite', elem('cmp', 'code-value-quantity', { k0: { $elemMatch: { s: 'http://loinc.org', c: '8480-6' } }, k1: { $elemMatch: { lo: { $gte: 100 }, hi: { $lte: 130 } } } })],
  ['and + or', { $and: [elem('ref', 'subject', { r: 'Patient/1' }), { $or: [elem('tok', 'status', { c: 'final' }), { id: 'o1' }] }] }],
  ['chain', { $and: [elem('ref', 'subject', { r: { $regex: '^Patient/' } }), { id: { $in: ['o1', 'o2', 'o4'] } }] }],
  ['keyset cursor', { $or: [{ 'idx.srt.date.a': { $gt: 60 } }, { 'idx.srt.date.a': { $exists: false } }] }],
  ['lastUpdated', { lu: { $gte: 2, $lt: 6 } }],
  ['nothing', { id: { $in: [] } }],
  ['everything', {}],
];

const matches = (f: Filter) => new Set(docs.filter((d) => new Query(f).test(d)).map((d) => `${d.type}/${d.id}`));

/** Every operator left in a relaxed filter is one FerretDB answers correctly over arrays. */
function safe(f: unknown, path = ''): boolean {
  if (Array.isArray(f)) return f.every((x) => safe(x, path));
  if (typeof f !== 'object' || f === null) return true;
  return Object.entries(f).every(([k, v]) => {
    if (k === '$elemMatch' || k === '$not' || k === '$ne' || k === '$nin' || k === '$where' || k === '$expr') return false;
    if (['$gt', '$gte', '$lt', '$lte', '$exists'].includes(k)) return defaultScalarPath(path);
    if (k === '$regex') return isAnchoredRegex(String(v));
    if (k === '$and' || k === '$or' || k === '$nor' || k === '$in' || k === '$eq') return safe(v, path);
    return safe(v, k.startsWith('$') ? path : k);
  });
}

t.test('relaxFilter: a superset made only of operators answered correctly over arrays', async (t) => {
  for (const [name, f] of filters) {
    const r = relaxFilter(f);
    t.ok(safe(r.filter), `${name}: relaxed filter is safe: ${JSON.stringify(r.filter)}`);
    const exact = matches(f);
    const relaxed = matches(r.filter);
    for (const k of exact) t.ok(relaxed.has(k), `${name}: ${k} kept`);
    if (r.exact) t.same([...relaxed].sort(), [...exact].sort(), `${name}: exact relaxation answers the same`);
  }
  // the relaxation actually narrows: a reference search does not fetch the whole type
  t.same(relaxFilter(elem('ref', 'subject', { r: 'Patient/1' })).filter, { 'idx.ref.p': 'subject', 'idx.ref.r': 'Patient/1' });
  t.same(relaxFilter(elem('ref', 'subject', { r: 'Patient/1' })).exact, false);
  t.same(relaxFilter(elem('dt', 'date', { lo: { $gte: 1 }, hi: { $lte: 2 } })).filter, { 'idx.dt.p': 'date' }, 'ranges inside $elemMatch are dropped');
  t.same(relaxFilter({ lu: { $gte: 2 }, id: 'x' }), { filter: { lu: { $gte: 2 }, id: 'x' }, exact: true }, 'scalar top-level fields pass unchanged');
  t.same(relaxFilter({ 'idx.n': { $gte: 2 } }), { filter: {}, exact: false }, 'a range on a path that may hold an array is dropped');
  t.same(relaxFilter({ 'idx.ref': { p: 'subject', r: 'Patient/1' } }), { filter: {}, exact: false }, 'whole-subdocument equality is dropped');
});

t.test('relaxFilter: polarity under $nor, $not and $or', async (t) => {
  // a negated inexact clause cannot be relaxed: the whole clause becomes match-all
  t.same(relaxFilter({ $nor: [elem('tok', 'status', { c: 'final' })] }), { filter: {}, exact: false });
  t.same(relaxFilter({ $and: [{ type: 'Observation' }, { $nor: [elem('str', 'name')] }] }), { filter: { type: 'Observation' }, exact: false });
  // a negated exact clause is kept as it is
  t.same(relaxFilter({ $nor: [{ id: 'a' }, { lu: { $lt: 3 } }] }), { filter: { $nor: [{ id: 'a' }, { lu: { $lt: 3 } }] }, exact: true });
  // $nor with one inexact member of several: all of it goes
  t.same(relaxFilter({ $nor: [{ id: 'a' }, elem('ref', 'subject', { r: 'x' })] }).filter, {});
  // $not on a field is dropped, never inverted
  t.same(relaxFilter({ id: { $not: { $in: ['a'] } }, type: 'Patient' }), { filter: { type: 'Patient' }, exact: false });
  // $nor inside an $elemMatch concerns one element: dropped
  t.same(relaxFilter(elem('tok', 'code', { $nor: [{ c: 'x' }] })).filter, { 'idx.tok.p': 'code' });
  // $or: relaxed branch by branch; a match-all branch makes the $or match all
  t.same(relaxFilter({ $or: [elem('ref', 'subject', { r: 'a' }), { id: 'b' }] }).filter, { $or: [{ 'idx.ref.p': 'subject', 'idx.ref.r': 'a' }, { id: 'b' }] });
  t.same(relaxFilter({ $or: [elem('ref', 'subject', { r: 'a' }), { $nor: [elem('str', 'name')] }] }).filter, {});
  // $or inside $elemMatch: per-branch dotted conditions
  t.same(relaxFilter(elem('qty', 'value', { $or: [{ c: 'mg' }, { u: 'mg' }] })).filter, { 'idx.qty.p': 'value', $or: [{ 'idx.qty.c': 'mg' }, { 'idx.qty.u': 'mg' }] });
  // regexes: only anchored ones without top-level alternation
  t.ok(isAnchoredRegex('^abc(/|$)'));
  t.notOk(isAnchoredRegex('^a|b'));
  t.notOk(isAnchoredRegex('(^|\\s)abc'));
  t.ok(isAnchoredRegex('^a\\|b[|]'));
  t.same(relaxFilter({ id: { $regex: '^a', $options: 'i' } }), { filter: {}, exact: false });
});

for (const factory of storeFactories()) {
  t.test(`search shapes answer like mingo on the documents: ${factory.name}`, async (t) => {
    const { store, cleanup } = await factory.open();
    t.teardown(cleanup);
    // one resource per transaction: no multi-document transactions needed
    for (const d of docs) await store.transact((tx) => tx.put({ type: d.type, id: d.id, resource: { resourceType: d.type } as Resource, idx: d.idx }));
    // lu is assigned by the store: re-read it for the shapes that use it
    const stored = new Map((await store.find({ types: [], filter: {} })).map((v) => [`${v.type}/${v.id}`, v.lu]));
    t.equal(stored.size, docs.length);
    for (const [name, f] of filters) {
      if (name === 'lastUpdated') continue;
      const want = [...matches(f)].sort();
      const got = (await store.find({ types: [], filter: f, sort: [['type', 1], ['id', 1]] })).map((v) => `${v.type}/${v.id}`);
      t.same(got, want, `${name}: find`);
      t.equal(await store.count([], f), want.length, `${name}: count`);
    }
    const obs = await store.find({ types: ['Observation'], filter: elem('ref', 'subject', { r: { $in: ['Patient/1', 'Patient/2'] } }), sort: [['id', -1]], skip: 1, limit: 2 });
    t.same(obs.map((v) => v.id), ['o3', 'o1'], 'sort, skip and limit after the exact match');
    const byDate = await store.find({ types: ['Observation'], filter: {}, sort: [['idx.srt.date.a', 1], ['id', 1]] });
    t.same(byDate.map((v) => v.id), ['o3', 'o4', 'o5', 'o2', 'o1'], 'missing sort keys first, then ascending');
    // the same searches as the conformance suite's find test, written one resource at a time
    for (let i = 0; i < 10; i++) {
      await store.transact((tx) => tx.put({ type: 'Condition', id: `c${i}`, resource: { resourceType: 'Condition' } as Resource, idx: { ref: [{ p: 'subject', r: `Patient/p${i % 2}` }], n: i } }));
    }
    const byP0 = await store.find({ types: ['Condition'], filter: { 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/p0' } } }, sort: [['idx.n', -1]] });
    t.same(byP0.map((v) => v.id), ['c8', 'c6', 'c4', 'c2', 'c0']);
    const inList = await store.find({ types: ['Condition'], filter: { 'idx.ref': { $elemMatch: { p: 'subject', r: { $in: ['Patient/p0', 'Patient/p1'] } } } }, sort: [['id', 1]], skip: 2, limit: 3 });
    t.same(inList.map((v) => v.id), ['c2', 'c3', 'c4']);
    t.equal(await store.count(['Condition'], { 'idx.n': { $gte: 5 } }), 5);
    const combined = { $and: [{ 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/p1' } } }, { 'idx.n': { $lt: 4 } }] };
    t.same((await store.find({ types: ['Condition'], filter: combined, sort: [['id', 1]] })).map((v) => v.id), ['c1', 'c3']);
    // in a unit of work too (one write, then a read of it)
    const seen = await store.transact(async (tx) => {
      await tx.put({ type: 'Condition', id: 'c0', resource: { resourceType: 'Condition' } as Resource, idx: { ref: [{ p: 'subject', r: 'Patient/p9' }], n: 0 } });
      return tx.find({ types: ['Condition'], filter: { 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/p9' } } } });
    });
    t.same(seen.map((v) => v.id), ['c0'], 'a transaction finds its own write');
    t.equal(await store.count(['Condition'], { 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/p0' } } }), 4);
  });
}

for (const factory of storeFactories()) {
  t.test(`reindex works with or without multi-resource transactions: ${factory.name}`, async (t) => {
    const { store, cleanup } = await factory.open();
    t.teardown(cleanup);
    for (let i = 0; i < 5; i++) await store.transact((tx) => tx.put({ type: 'Patient', id: `r${i}`, resource: { resourceType: 'Patient', gender: 'male' } as Resource, idx: {} }));
    const engine = { extractIndex: (r: Resource) => ({ tok: [{ p: 'gender', c: (r as { gender?: string }).gender }] }) };
    const r = await reindexAll(store, engine, { batch: 2 });
    t.same(r, { reindexed: 5, skipped: 0 });
    t.equal(await store.count(['Patient'], { 'idx.tok': { $elemMatch: { p: 'gender', c: 'male' } } }), 5, 'new index values are searchable');
  });
}

const uri = process.env.MONGODB_URI;
t.test('MongoDB adapter without transactions: crash repair and write conflicts', { skip: uri ? false : 'MONGODB_URI is not set' }, async (t) => {
  const mongo = storeFactories().find((f) => f.name === 'mongodb')!;
  const { store, cleanup } = await mongo.open();
  t.teardown(cleanup);
  const m = store as MongoStore;
  t.comment(`backend: ${m.capabilities.backend}`);
  const put = (id: string, expectVid?: number) =>
    m.transact((tx) => tx.put({ type: 'Patient', id, resource: { resourceType: 'Patient', id } as Resource, idx: {}, expectVid }));

  // a crash between the history insert and the current replace leaves history one version ahead;
  // once older than the in-flight window, the next write goes above it
  await put('a', 0);
  const orphan = (id: string, vid: number, age: number) =>
    m.historyColl.insertOne({ _id: versionKey('Patient', id, vid), type: 'Patient', id, vid, lu: Date.now() - age, deleted: false, res: { resourceType: 'Patient', id } });
  // a fresh one may be a write in flight: a conflict, as for any concurrent writer
  await orphan('a', 2, 0);
  await t.rejects(put('a', 1), VersionConflict, 'a history version written just now is a concurrent write');
  await m.historyColl.deleteOne({ _id: versionKey('Patient', 'a', 2) });
  await orphan('a', 2, ORPHAN_AFTER_MS + 1000);
  t.equal((await m.read('Patient', 'a'))!.vid, 1, 'the current version is still 1');
  const next = await put('a', 1);
  t.equal(next.vid, 3, 'the next write goes above the orphaned history version');
  t.equal((await m.read('Patient', 'a'))!.vid, 3);
  t.equal((await put('a', 3)).vid, 4, 'and the resource keeps accepting writes');
  await t.rejects(put('a', 3), VersionConflict, 'a stale expectVid is still a conflict');

  // a crash during a first create leaves history without any current document
  await orphan('b', 1, ORPHAN_AFTER_MS + 1000);
  t.equal((await put('b', 0)).vid, 2, 'a create after the crash succeeds');
  t.equal((await m.readVersion('Patient', 'b', 2))!.vid, 2);

  // concurrent writers based on the same version: exactly one wins, no orphan stays behind
  // (rounds, because FerretDB's races show only sometimes)
  let rounds = 0;
  for (let base = 4; base < 14; base++) {
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => put('a', base)));
    const won = results.filter((r) => r.status === 'fulfilled').length;
    const conflicts = results.filter((r) => r.status === 'rejected' && r.reason instanceof VersionConflict).length;
    if (won === 1 && conflicts === 7) rounds++;
    else t.fail(`version ${base}: ${won} winners, ${conflicts} conflicts of 8`);
  }
  t.equal(rounds, 10, 'in each of ten rounds, one of eight concurrent updates wins and seven get a version conflict');
  const cur = await m.read('Patient', 'a');
  t.equal(cur!.vid, 14);
  const hist = await m.history({ type: 'Patient', id: 'a', limit: 100 });
  t.equal(hist[0].vid, cur!.vid, 'the newest history version is the current one');
  t.equal(await m.countHistory({ type: 'Patient', id: 'a' }), 14, 'one history version per winner, plus the orphan');

  // a unit of work that fails after its one write leaves nothing behind: a refused second write
  // (no transactions), or any error
  if (!m.capabilities.transactions) {
    await t.rejects(
      m.transact(async (tx) => {
        await tx.put({ type: 'Patient', id: 'c', resource: { resourceType: 'Patient' } as Resource, idx: {} });
        await tx.put({ type: 'Patient', id: 'd', resource: { resourceType: 'Patient' } as Resource, idx: {} });
      }),
      /no multi-document transactions/,
      'a second write is refused',
    );
    t.equal(await m.read('Patient', 'c'), undefined, 'and the first one is undone');
    t.equal(await m.countHistory({ type: 'Patient', id: 'c' }), 0);
  }
  const before = (await m.read('Patient', 'b'))!;
  await t.rejects(
    m.transact(async (tx) => {
      await tx.put({ type: 'Patient', id: 'b', resource: { resourceType: 'Patient', active: false } as Resource, idx: { tok: [{ p: 'active', c: 'false' }] }, expectVid: before.vid });
      throw new Error('abort');
    }),
    /abort/,
  );
  const after = (await m.read('Patient', 'b'))!;
  t.equal(after.vid, before.vid, 'an undone update restores the previous version');
  t.same(after.resource, before.resource);
  t.equal(await m.count(['Patient'], { 'idx.tok': { $elemMatch: { p: 'active', c: 'false' } } }), 0, 'and its index values');
  t.equal(await m.readVersion('Patient', 'b', before.vid + 1), undefined, 'the undone version is not in history');

  // conditional-create leases: an expired lease left by a crashed process is taken over
  await m.locks.insertOne({ _id: 'crashed', until: new Date(Date.now() - 1000) });
  const start = Date.now();
  await m.transact((tx) => tx.lock('crashed'));
  t.ok(Date.now() - start < 5000, 'the expired lease did not block');
  t.equal(await m.locks.countDocuments({ _id: 'crashed' }), 0, 'the lease is released at the end of the unit of work');
});
