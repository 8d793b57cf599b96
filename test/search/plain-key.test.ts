import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, Patient } from 'fhir/r4.js';
import { serializeJson } from '../../src/fhir/raw-json.js';
import { createSearchEngine } from '../../src/search/engine.js';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';
import { EmbeddedVersion } from '../../src/store/embedded/version.js';

// A search page splices a version's type and id into fullUrl's JSON unescaped only when the
// store checked them as it made the version (StoredVersion.plainKey); any other id is escaped.
const BASE = 'http://localhost/fhir';

t.test('the embedded store marks a version plain only for a letters-only type and a FHIR id', async (t) => {
  const v = (type: string, id: string) => new EmbeddedVersion(type, id, 1, 0, '{}', {}).plainKey;
  t.equal(v('Patient', 'a-1.B'), true);
  t.equal(v('Patient', 'x'.repeat(64)), true);
  t.equal(v('Patient', 'x'.repeat(65)), false, 'too long for a FHIR id');
  t.equal(v('Patient', 'bad"id'), false);
  t.equal(v('Patient', 'a\\b'), false);
  t.equal(v('Patient', ''), false);
  t.equal(v('Pat"ient', 'a'), false);
  t.equal(v('Patient2', 'a'), false);
});

t.test('a page holding a version whose id is not a FHIR id (put past the REST checks) is still exact JSON', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'plain-key-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const engine = createSearchEngine({ baseUrl: BASE });
  const store = new EmbeddedStore({ dataDir: dir, indexes: engine.indexes });
  await store.init();
  t.teardown(() => store.close());
  const ids = ['ok-1', 'bad"id', 'back\\slash', 'ok.2'];
  for (const id of ids) {
    const r: Patient = { resourceType: 'Patient', id, gender: 'female' };
    await store.transact((tx) => tx.put({ type: 'Patient', id, resource: r, idx: engine.extractIndex(r) }));
  }
  const page = await engine.search(store, { types: ['Patient'], params: [['gender', 'female']], path: 'Patient' });
  const text = serializeJson(page, false);
  const parsed = JSON.parse(text) as Bundle;
  t.same(parsed.entry!.map((e) => e.fullUrl).sort(), ids.map((id) => `${BASE}/Patient/${id}`).sort(), 'every fullUrl survives, escaped where it must be');
  t.same(parsed.entry!.map((e) => e.resource!.id).sort(), [...ids].sort());
  t.equal(text, JSON.stringify(JSON.parse(text)), 'the text is what JSON.stringify writes');
});
