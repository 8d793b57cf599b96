import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Patient, SearchParameter } from 'fhir/r4.js';
import { createSearchEngine } from '../../src/search/engine.js';
import { reindexAll } from '../../src/search/reindex.js';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';
import { matchIds } from './memory-store.js';

/** Runs against the lead's embedded adapter: extra parameters take effect after reindexAll. */
const BASE = 'http://localhost/fhir';
const birthPlace: SearchParameter = {
  resourceType: 'SearchParameter',
  url: 'http://example.org/SearchParameter/patient-birth-city',
  name: 'birth-city',
  status: 'active',
  description: 'City of birth',
  code: 'birth-city',
  base: ['Patient'],
  type: 'string',
  expression: "Patient.extension.where(url = 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace').value.city",
};
const patient = (id: string, city: string): Patient => ({
  resourceType: 'Patient',
  id,
  extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace', valueAddress: { city } }],
  gender: 'female',
});

t.test('reindexAll re-extracts with new definitions, through the store port', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'search-reindex-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const before = createSearchEngine({ baseUrl: BASE });
  const after = createSearchEngine({ baseUrl: BASE, extraSearchParameters: [birthPlace] });
  const store = new EmbeddedStore({ dataDir: dir, indexes: after.indexes });
  await store.init();
  t.teardown(() => store.close());
  const cities = ['Boston', 'Bogotá', 'Lyon', 'Bonn'];
  for (let i = 0; i < 250; i++) {
    const r = patient(`p${i}`, cities[i % cities.length]);
    await store.transact((tx) => tx.put({ type: 'Patient', id: r.id!, resource: r, idx: before.extractIndex(r) }));
  }
  const query = { types: ['Patient'], params: [['birth-city', 'bo'], ['_count', '1000']] as Array<[string, string]>, path: 'Patient' };
  t.same(matchIds(await after.search(store, query)), [], 'not indexed yet');
  const result = await reindexAll(store, after, { batch: 40 });
  t.same(result, { reindexed: 250, skipped: 0 });
  const expected = Array.from({ length: 250 }, (_, i) => i)
    .filter((i) => ['Boston', 'Bogotá', 'Bonn'].includes(cities[i % 4]))
    .map((i) => `Patient/p${i}`)
    .sort();
  t.same(matchIds(await after.search(store, query)), expected);
  t.equal((await store.read('Patient', 'p0'))!.vid, 1, 'reindexing writes no new version');
  t.equal(await store.countHistory({}), 250, 'history untouched');
  t.equal(after.parametersFor('Patient').filter((p) => p.code === 'birth-city').length, 1);
  // findMatches reads through the same filter documents, inside a transaction
  const inTx = await store.transact((tx) => after.findMatches(tx, 'Patient', [['birth-city:exact', 'Lyon']]));
  t.same(inTx.map((v) => `Patient/${v.id}`).sort(), Array.from({ length: 250 }, (_, i) => i).filter((i) => i % 4 === 2).map((i) => `Patient/p${i}`).sort());
  await t.rejects(after.findMatches(store, 'Patient', [['unknown-param', 'x']]), /unknown-param/);
  // paging on the real adapter: keyset links cover every match exactly once
  const seen: string[] = [];
  let params: Array<[string, string]> = [['birth-city', 'bo'], ['_sort', 'birth-city'], ['_count', '17']];
  for (let i = 0; i < 100; i++) {
    const b = await after.search(store, { types: ['Patient'], params, path: 'Patient' });
    seen.push(...matchIds(b));
    const next = b.link?.find((l) => l.relation === 'next');
    if (!next) break;
    params = [...new URL(next.url).searchParams.entries()] as Array<[string, string]>;
  }
  t.same(seen.sort(), expected);
  // the new index values are durable: a reopened store answers the same
  await store.close();
  const reopened = new EmbeddedStore({ dataDir: dir, indexes: after.indexes });
  await reopened.init();
  t.same(matchIds(await after.search(reopened, query)), expected, 'index values survive a restart');
  await reopened.close();
});
