import t from 'tap';
import { Query } from 'mingo';
import { topKeys } from '../../src/store/embedded/top-keys.js';
import { compileScalarFilter } from '../../src/store/embedded/scalar-filter.js';
import { entryWithStoredJson, serializeJson } from '../../src/fhir/raw-json.js';
import type { Filter } from '../../src/store/port.js';

let seed = 11;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const ID_CHARS = 'aZ09-.';
const randomId = () => Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => ID_CHARS[Math.floor(rnd() * ID_CHARS.length)]).join('');
const TYPES = ['Condition', 'Observation', 'Patient', 'Obs', 'ObservationDefinition'];
const docs = Array.from({ length: 400 }, (_, i) => ({ type: TYPES[Math.floor(rnd() * TYPES.length)], id: `${randomId()}${i % 7 ? '' : '-'}`, vid: 1 + (i % 3), lu: 1000 + Math.floor(rnd() * 50) }));

t.test('topKeys gives the (type, id) order of MongoDB from the keys alone', async (t) => {
  const unique = [...new Map(docs.map((d) => [`${d.type}/${d.id}`, d])).values()];
  const keys = new Set(unique.map((d) => `${d.type}/${d.id}`));
  for (const dir of [1, -1] as const) {
    const ref = new Query({}).find(unique).sort({ type: dir, id: dir }).all().map((d) => `${(d as { type: string }).type}/${(d as { id: string }).id}`);
    for (const k of [1, 5, 60, 1000]) t.same(topKeys(keys, k, dir === -1), ref.slice(0, k), `first ${k}, direction ${dir}`);
  }
  t.same(topKeys(keys, 0, false), []);
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
      entryWithStoredJson('http://x/fhir/Patient/a', stored[0], { mode: 'match' }),
      entryWithStoredJson('http://x/fhir/Condition/b', stored[1], { mode: 'include' }),
      { resource: { resourceType: 'OperationOutcome', issue: [] }, search: { mode: 'outcome' } },
    ],
  });
  const plain = JSON.stringify({ ...bundle(), entry: bundle().entry.map((e) => ({ ...e })) });
  t.equal(serializeJson(bundle(), false), plain, 'same text as serialising the parsed resources');
  t.same(JSON.parse(serializeJson(bundle(), false)), JSON.parse(plain));
  t.equal(serializeJson(bundle(), true), JSON.stringify(JSON.parse(plain), null, 2), 'pretty output parses the resources');
  const b = bundle();
  (b.entry[0].resource as { id: string }).id = 'changed';
  t.match(serializeJson(b, false), /"id":"changed"/, 'a change to a resource that was read out is kept');
  t.equal(serializeJson({ resourceType: 'Patient', id: 'x' }, false), '{"resourceType":"Patient","id":"x"}');
});
