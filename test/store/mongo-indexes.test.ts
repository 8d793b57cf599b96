import t from 'tap';
import type { Bundle } from 'fhir/r4.js';
import { createSearchEngine } from '../../src/search/engine.js';
import type { FindQuery, ResourceStore } from '../../src/store/port.js';

/**
 * On MongoDB, the searches EHRs and analytics run most are served by the indexes the adapter
 * creates at start-up (explain shows an index scan, no collection scan).
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
  // A few documents so the planner has something to choose between.
  for (let i = 0; i < 20; i++) {
    const r = { resourceType: 'Condition', subject: { reference: `Patient/p${i % 4}` }, clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] }, code: { coding: [{ system: 'http://snomed.info/sct', code: String(i) }] } } as const;
    await store.transact((tx) => tx.put({ type: 'Condition', id: `c${i}`, resource: r as never, idx: engine.extractIndex(r as never) }));
  }
  // The queries the engine really sends, captured from a search.
  const captured: FindQuery[] = [];
  const spy = { find: async (q: FindQuery) => (captured.push(q), []), count: async () => 0, readMany: async () => [] } as unknown as ResourceStore;
  const searches: Array<[string, Array<[string, string]>]> = [
    ['Condition', [['patient', 'Patient/p1'], ['clinical-status', 'active']]],
    ['Condition', [['code', 'http://snomed.info/sct|3']]],
    ['Patient', [['identifier', 'urn:mrn|42']]],
    ['Condition', [['_lastUpdated', 'gt2020-01-01'], ['_sort', '-_lastUpdated']]],
  ];
  for (const [type, params] of searches) {
    captured.length = 0;
    await engine.search(spy, { types: [type], params, path: type }) as Bundle;
    const q = captured[0];
    let cursor = store.current.find(store.liveFilter(q.types, q.filter));
    if (q.sort?.length) cursor = cursor.sort(q.sort.map(([f, d]) => [f, d] as [string, 1 | -1]));
    const plan = JSON.stringify(await cursor.explain('queryPlanner'));
    const label = `${type}?${params.map(([k, v]) => `${k}=${v}`).join('&')}`;
    t.match(plan, /IXSCAN/, `${label}: index scan`);
    t.notMatch(plan, /COLLSCAN/, `${label}: no collection scan`);
  }
});
