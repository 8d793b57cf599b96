import t from 'tap';
import type { Bundle, CodeableConcept, Observation, Resource } from 'fhir/r4.js';
import { createSearchEngine, type SearchRequest } from '../../src/search/engine.js';
import { loadR4Examples, loadSyntheaBundles, matchIds, testDataDir } from '../search/memory-store.js';
import { storeFactories } from '../helpers/stores.js';

/**
 * The filter shapes of UCUM quantities (canonical fields), chains into contained resources
 * (`idx.ctd` with nested `$elemMatch`) and `_list`, run by the real stores with the engine's
 * index specs: the embedded store (hash indexes) and, with MONGODB_URI, MongoDB or FerretDB
 * (relaxed filters). Expected ids are computed from the source resources in plain TypeScript.
 */
const dir = testDataDir();
if (!dir) {
  console.log('# shared test data not found (set FHIR_TEST_DATA); skipping');
  process.exit(0);
}
const BASE = 'http://localhost/fhir';
const UCUM = 'http://unitsofmeasure.org';
const engine = createSearchEngine({ baseUrl: BASE });
// some Synthea body weights and claims (each put costs a round trip on a real server), and the
// R4 example Observations (contained Patients, a weight in pounds)
const synthea = (() => {
  const all = loadSyntheaBundles(dir);
  const weights = all.filter((r) => r.resourceType === 'Observation' && (r as Observation).code.coding?.some((c) => c.code === '29463-7'));
  return [...weights.slice(0, 40), ...all.filter((r) => r.resourceType === 'ExplanationOfBenefit').slice(0, 40)];
})();
const examples = loadR4Examples(dir).filter((r) => r.resourceType === 'Observation');
const list = { resourceType: 'List', id: 'shapes-list', status: 'current', mode: 'working', entry: [{ item: { reference: `Observation/${examples[0].id}` } }, { item: { reference: `Observation/${examples[1].id}` }, deleted: true }] } as unknown as Resource;
const resources = [...synthea, ...examples, list];
const keys = (rs: Resource[]) => rs.map((r) => `${r.resourceType}/${r.id}`).sort();
const codings = (cc: CodeableConcept | undefined) => cc?.coding ?? [];
const fold = (s: string) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();

for (const factory of storeFactories()) {
  t.test(`${factory.name}: UCUM, contained and _list filters`, async (t) => {
    const { store, cleanup } = await factory.open(engine.indexes);
    t.teardown(cleanup);
    for (const r of resources) await store.transact((tx) => tx.put({ type: r.resourceType, id: r.id!, resource: r, idx: engine.extractIndex(r) }));
    const all = async (type: string, params: Array<[string, string]>) => {
      const out: string[] = [];
      let req: SearchRequest = { types: [type], params: [...params, ['_count', '200']], path: type };
      for (let guard = 0; guard < 100; guard++) {
        const b: Bundle = await engine.search(store, req);
        out.push(...matchIds(b));
        const next = b.link?.find((l) => l.relation === 'next')?.url;
        if (!next) break;
        req = { ...req, params: [...new URL(next).searchParams.entries()] as Array<[string, string]> };
      }
      return out.sort();
    };
    const obs = resources.filter((r) => r.resourceType === 'Observation') as Observation[];
    // body weights in kg (Synthea) or pounds (the R4 example): 1 [lb_av] = 0.45359237 kg
    const perKg: Record<string, number> = { kg: 1, '[lb_av]': 0.45359237 };
    const kg = (o: Observation) => {
      const q = o.valueQuantity;
      if (!codings(o.code).some((c) => c.code === '29463-7') || q?.system !== UCUM || q.value === undefined || !(q.code! in perKg)) return undefined;
      return q.value * perKg[q.code!];
    };
    const heavy = obs.filter((o) => (kg(o) ?? -1) * 1000 >= 70000);
    t.ok(heavy.length > 0 && heavy.length < obs.filter((o) => kg(o) !== undefined).length, 'weights on both sides of 70 kg');
    t.same(await all('Observation', [['code', 'http://loinc.org|29463-7'], ['value-quantity', `ge70000|${UCUM}|g`]]), keys(heavy), 'kg stored, g asked');

    // chain into a contained Coverage (Synthea claims)
    type Eob = Resource & { contained?: Array<Record<string, any>>; insurance?: Array<{ coverage?: { reference?: string } }> };
    const eobs = resources.filter((r) => r.resourceType === 'ExplanationOfBenefit') as Eob[];
    const coverageText = (e: Eob) =>
      (e.insurance ?? []).flatMap((i) => e.contained?.filter((c) => c.resourceType === 'Coverage' && `#${c.id}` === i.coverage?.reference) ?? []).map((c) => String(c.type?.text ?? ''));
    const word = fold(coverageText(eobs[0])[0]).split(/\s+/)[0];
    const byWord = eobs.filter((e) => coverageText(e).some((s) => fold(s).startsWith(word)));
    t.ok(byWord.length > 0, `claims whose contained coverage says '${word}'`);
    t.same(await all('ExplanationOfBenefit', [['coverage.type:text', word]]), keys(byWord));

    // where(resolve() is Patient) over a contained Patient, and a chain by its id
    const containedPatient = (o: Observation) => o.subject?.reference?.startsWith('#') && (o.contained ?? []).some((c) => `#${c.id}` === o.subject!.reference && c.resourceType === 'Patient');
    t.ok(obs.some(containedPatient));
    t.same(await all('Observation', [['patient:missing', 'false']]), keys(obs.filter((o) => o.subject?.reference?.startsWith('Patient/') || o.subject?.type === 'Patient' || containedPatient(o))));
    t.same(await all('Observation', [['subject:Patient._id', 'newborn']]), keys(obs.filter((o) => containedPatient(o) && o.subject!.reference === '#newborn')));

    // _list: live entries only
    t.same(await all('Observation', [['_list', 'shapes-list']]), [`Observation/${examples[0].id}`]);
  });
}
