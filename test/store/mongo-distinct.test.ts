// The aggregation the MongoDB adapter sends for `distinct` (src/store/mongo/mongo-distinct.ts),
// run here by mingo's aggregation engine: FerretDB 1.x cannot run it (see the adapter), and no
// MongoDB server is available to the tests, so its logic is checked on the same cases as the
// conformance suite. The adapter's filter wrapping (live documents of the types) is used as is.
import t from 'tap';
import { Aggregator } from 'mingo';
import { distinctPipeline } from '../../src/store/mongo/mongo-distinct.js';
import type { DistinctQuery } from '../../src/store/port.js';

const cm = { p: 'dtype', s: 'S', c: 'cm' };
const docs = [
  { _id: 'Encounter/d1', type: 'Encounter', id: 'd1', deleted: false, idx: { ref: [{ p: 'dsubj', r: 'Patient/b' }, { p: 'dpart', r: 'Practitioner/x' }], tok: [cm] } },
  { _id: 'Encounter/d2', type: 'Encounter', id: 'd2', deleted: false, idx: { ref: [{ p: 'dsubj', r: 'Patient/a' }], tok: [cm] } },
  { _id: 'Encounter/d3', type: 'Encounter', id: 'd3', deleted: false, idx: { ref: [{ p: 'dsubj', r: 'Patient/b' }], tok: [cm, { ...cm, c: 'other' }] } },
  { _id: 'Encounter/d4', type: 'Encounter', id: 'd4', deleted: false, idx: { ref: [{ p: 'dsubj', r: 'Patient/c' }], tok: [{ ...cm, c: 'other' }] } },
  { _id: 'Encounter/d5', type: 'Encounter', id: 'd5', deleted: false, idx: { ref: [{ p: 'dsubj', r: 'Group/g' }], tok: [cm] } },
  { _id: 'Encounter/d6', type: 'Encounter', id: 'd6', deleted: true },
  { _id: 'Encounter/d7', type: 'Encounter', id: 'd7', deleted: false, idx: { ref: [{ p: 'dpatient', r: 'Patient/z' }], tok: [cm] } },
  { _id: 'Procedure/d8', type: 'Procedure', id: 'd8', deleted: false, idx: { ref: [{ p: 'dsubj', r: 'Patient/y' }], tok: [cm] } },
];

/** As MongoStore.liveFilter. */
const live = (types: readonly string[], filter: Record<string, unknown>) => ({
  $and: [{ deleted: false }, ...(types.length === 1 ? [{ type: types[0] }] : types.length ? [{ type: { $in: [...types] } }] : []), filter],
});
const run = (q: DistinctQuery) => (new Aggregator(distinctPipeline(live(q.types, q.filter), q)).run(docs) as Array<{ _id: string }>).map((r) => r._id);

t.test('distinct pipeline: values once, ascending, paged, element and prefix conditions', async (t) => {
  const q: DistinctQuery = { types: ['Encounter'], filter: { 'idx.tok': { $elemMatch: { p: 'dtype', c: 'cm', s: 'S' } } }, field: 'idx.ref', where: { p: 'dsubj' }, key: 'r', prefix: 'Patient/', limit: 100 };
  t.same(run(q), ['Patient/a', 'Patient/b']);
  t.same(run({ ...q, limit: 1 }), ['Patient/a']);
  t.same(run({ ...q, after: 'Patient/a' }), ['Patient/b']);
  t.same(run({ ...q, after: 'Patient/b' }), []);
  const plain = { ...q, filter: { id: { $in: ['d1', 'd2', 'd4', 'd5', 'd6', 'd7'] } }, prefix: undefined };
  t.same(run(plain), ['Group/g', 'Patient/a', 'Patient/b', 'Patient/c']);
  t.same(run({ ...plain, where: undefined }), ['Group/g', 'Patient/a', 'Patient/b', 'Patient/c', 'Patient/z', 'Practitioner/x']);
  t.same(run({ ...q, types: [] }), ['Patient/a', 'Patient/b', 'Patient/y']);
  t.same(run({ ...q, prefix: 'Pat.ent/' }), [], 'the prefix is matched literally');
});
