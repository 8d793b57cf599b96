import t from 'tap';
import type { Bundle, Observation, Patient } from 'fhir/r4.js';
import { createSearchEngine } from '../../src/search/engine.js';
import { MemoryStore } from './memory-store.js';

t.test('code elements carry their implied system: system|code matches, code alone still does', async (t) => {
  const engine = createSearchEngine({ baseUrl: 'http://localhost/fhir' });
  const store = new MemoryStore(engine);
  store.put({ resourceType: 'Patient', id: 'm', gender: 'male' } as Patient);
  store.put({ resourceType: 'Patient', id: 'f', gender: 'female' } as Patient);
  store.put({ resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'x' } } as Observation);
  store.put({ resourceType: 'Observation', id: 'o2', status: 'preliminary', code: { text: 'y' } } as Observation);
  const ids = async (type: string, params: Array<[string, string]>) =>
    ((await engine.search(store as never, { types: [type], params, path: type })) as Bundle).entry?.map((e) => e.resource!.id).sort() ?? [];
  t.same(await ids('Patient', [['gender', 'http://hl7.org/fhir/administrative-gender|male']]), ['m']);
  t.same(await ids('Patient', [['gender', 'male']]), ['m']);
  t.same(await ids('Patient', [['gender', 'http://example.org/other|male']]), []);
  t.same(await ids('Patient', [['gender:not', 'http://hl7.org/fhir/administrative-gender|male']]), ['f']);
  t.same(await ids('Observation', [['status', 'http://hl7.org/fhir/observation-status|final']]), ['o1']);
});
