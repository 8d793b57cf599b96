import t from 'tap';
import type { Bundle, Resource } from 'fhir/r4.js';
import { createSearchEngine } from '../../src/search/engine.js';
import { SORT_INDEXED } from '../../src/search/sort-indexed.js';
import type { FindQuery, ResourceStore } from '../../src/store/port.js';

/**
 * On MongoDB, the searches EHRs and analytics run most are served by the indexes the adapter
 * creates at start-up (explain shows an index scan, no collection scan), and sorted pages on
 * the indexed sort keys are read in index order (no blocking SORT stage).
 */
const uri = process.env.MONGODB_URI;

t.test('common searches use the MongoDB indexes', { skip: !uri && 'MONGODB_URI is not set: nothing to explain' }, async (t) => {
  const { MongoStore } = await import('../../src/store/mongo/mongo-store.js');
  const { MongoClient } = await import('mongodb');
  const engine = createSearchEngine({ baseUrl: 'http://localhost/fhir' });
  const dbName = `ccm_idx_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const store = new MongoStore({ uri: uri!, dbName, indexes: engine.indexes });
  await store.init();
  t.teardown(async () => {
    await store.close();
    const c = new MongoClient(uri!);
    await c.connect();
    await c.db(dbName).dropDatabase();
    await c.close();
  });
  if (/FerretDB/.test(store.capabilities.backend)) {
    t.plan(0, `needs a server whose planner uses indexes; ${store.capabilities.backend} creates them but always scans (see README, Storage)`);
    return;
  }
  // A few documents of each type so the planner has something to choose between.
  const put = (r: Resource) => store.transact((tx) => tx.put({ type: r.resourceType, id: r.id!, resource: r, idx: engine.extractIndex(r) }));
  for (let i = 0; i < 20; i++) {
    await put({ resourceType: 'Condition', id: `c${i}`, subject: { reference: `Patient/p${i % 4}` }, onsetDateTime: `20${10 + i}-01-01`, clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] }, code: { coding: [{ system: 'http://snomed.info/sct', code: String(i) }] } } as Resource);
    await put({ resourceType: 'Patient', id: `p${i}`, birthDate: `19${50 + i}-02-03`, name: [{ family: `Fam${i}` }], identifier: [{ system: 'urn:mrn', value: String(i) }] } as Resource);
    await put({
      resourceType: 'Observation', id: `o${i}`, status: 'final', subject: { reference: `Patient/p${i % 4}` }, effectiveDateTime: `2020-0${1 + (i % 9)}-01`,
      code: { coding: [{ system: 'http://loinc.org', code: i % 2 ? '29463-7' : '4548-4' }] },
      valueQuantity: { value: 60 + i, system: 'http://unitsofmeasure.org', code: 'kg', unit: 'kg' },
    } as Resource);
  }
  // The queries the engine really sends, captured from a search.
  const captured: FindQuery[] = [];
  const spy = { find: async (q: FindQuery) => (captured.push(q), []), count: async () => 0, readMany: async () => [] } as unknown as ResourceStore;
  const UCUM = 'http://unitsofmeasure.org';
  // `sorted`: also no blocking SORT stage; `query`: which captured query to explain (0 = the first)
  const searches: Array<[string, Array<[string, string]>, { sorted?: boolean; query?: number }?]> = [
    ['Condition', [['patient', 'Patient/p1'], ['clinical-status', 'active']]],
    ['Condition', [['code', 'http://snomed.info/sct|3']]],
    ['Patient', [['identifier', 'urn:mrn|4']]],
    ['Patient', [['family', 'Fam1']]],
    ['Observation', [['patient', 'Patient/p2'], ['code', 'http://loinc.org|29463-7'], ['date', 'ge2020-03']]],
    ['Observation', [['status', 'final'], ['code', '4548-4']]],
    ['Observation', [['date', 'ge2020-08-01']]],
    ['Observation', [['value-quantity', `ge70000|${UCUM}|g`]]],
    ['Observation', [['value-quantity', 'ge70']]],
    ['Condition', [['_lastUpdated', 'gt2020-01-01'], ['_sort', '-_lastUpdated']]],
    // sorted pages without a selective filter: read in the order of a sort index
    ['Condition', [['_sort', '-_lastUpdated']], { sorted: true }],
    ['Condition', [['_sort', '_lastUpdated']], { sorted: true }],
    ['Observation', [['_sort', '-date']], { sorted: true }],
    ['Observation', [['_sort', 'date']], { sorted: true }],
    ['Patient', [['_sort', 'birthdate']], { sorted: true }],
    ['Patient', [['_sort', '-family']], { sorted: true }],
    ['Condition', [['_sort', '-onset-date']], { sorted: true }],
    // a chain's look-up inside contained resources (after the look-up of server Patients)
    ['Observation', [['patient.family', 'Fam1']], { query: 1 }],
  ];
  for (const [type, params, opts] of searches) {
    captured.length = 0;
    (await engine.search(spy, { types: [type], params, path: type })) as Bundle;
    const q = captured[opts?.query ?? 0];
    let cursor = store.current.find(store.liveFilter(q.types, q.filter));
    if (q.sort?.length) cursor = cursor.sort(q.sort.map(([f, d]) => [f, d] as [string, 1 | -1]));
    if (q.limit !== undefined) cursor = cursor.limit(q.limit);
    const plan = JSON.stringify(await cursor.explain('queryPlanner'));
    const winning = JSON.stringify((JSON.parse(plan) as { queryPlanner?: { winningPlan?: unknown } }).queryPlanner?.winningPlan ?? plan);
    const label = `${type}?${params.map(([k, v]) => `${k}=${v}`).join('&')}`;
    t.match(winning, /IXSCAN/, `${label}: index scan`);
    t.notMatch(winning, /COLLSCAN/, `${label}: no collection scan`);
    if (opts?.sorted) t.notMatch(winning, /"stage":"SORT"/, `${label}: order read from the index, no in-memory sort`);
  }
  t.ok(SORT_INDEXED.includes('date') && SORT_INDEXED.includes('birthdate'), 'the common sort keys are indexed');
});
