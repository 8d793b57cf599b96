import t from 'tap';
import type { Bundle, CodeableConcept, Condition, Encounter, Observation, Patient, Resource } from 'fhir/r4.js';
import { createSearchEngine, type SearchRequest } from '../../src/search/engine.js';
import { loadSyntheaBundles, matchIds, MemoryStore, testDataDir } from './memory-store.js';

/**
 * Searches over the 70 Synthea patients; every expected answer is computed here by filtering
 * the source resources in plain TypeScript.
 */
const dir = testDataDir();
if (!dir) {
  console.log('# shared test data not found (set FHIR_TEST_DATA); skipping Synthea search tests');
  process.exit(0);
}

const BASE = 'http://localhost:8080/fhir';
const engine = createSearchEngine({ baseUrl: BASE });
const store = new MemoryStore(engine);
const resources = loadSyntheaBundles(dir);
const t0 = performance.now();
for (const r of resources) store.put(r);
const perResource = (performance.now() - t0) / resources.length;
t.comment(`indexed ${resources.length} resources, ${perResource.toFixed(3)} ms each (extractIndex + store)`);

const ofType = <T extends Resource>(type: T['resourceType']) => resources.filter((r) => r.resourceType === type) as T[];
const patients = ofType<Patient>('Patient');
const conditions = ofType<Condition>('Condition');
const observations = ofType<Observation>('Observation');
const encounters = ofType<Encounter>('Encounter');
const keys = (rs: Resource[]) => rs.map((r) => `${r.resourceType}/${r.id}`).sort();

/** All matches, following next links (exercises keyset paging too). */
async function all(types: string[], params: Array<[string, string]>, count = 500, eng = engine): Promise<string[]> {
  const out: string[] = [];
  let req: SearchRequest = { types, params: [...params, ['_count', String(count)]], path: types[0] ?? '' };
  for (let guard = 0; guard < 200; guard++) {
    const b: Bundle = await eng.search(store.asStore(), req);
    out.push(...matchIds(b));
    const next = b.link?.find((l) => l.relation === 'next')?.url;
    if (!next) break;
    req = { ...req, params: [...new URL(next).searchParams.entries()] as Array<[string, string]> };
  }
  return out.sort();
}

const fold = (s: string) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
const codings = (cc: CodeableConcept | CodeableConcept[] | undefined) =>
  (Array.isArray(cc) ? cc : cc ? [cc] : []).flatMap((c) => c.coding ?? []);
const ms = (s: string) => new Date(s).getTime();

t.test('token: code, system|code, |code, system|, :not, :text, :in, :below, boolean', async (t) => {
  t.same(await all(['Patient'], [['gender', 'female']]), keys(patients.filter((p) => p.gender === 'female')));
  t.same(await all(['Patient'], [['gender', 'male,other']]), keys(patients.filter((p) => p.gender === 'male' || p.gender === 'other')));
  const diabetes = (c: Condition) => codings(c.code).some((x) => x.system === 'http://snomed.info/sct' && x.code === '44054006');
  t.ok(conditions.some(diabetes), 'data has diabetes');
  t.same(await all(['Condition'], [['code', 'http://snomed.info/sct|44054006']]), keys(conditions.filter(diabetes)));
  t.same(await all(['Condition'], [['code', '44054006']]), keys(conditions.filter(diabetes)));
  t.same(await all(['Condition'], [['code', '|44054006']]), [], 'no system-less codes in Synthea');
  t.same(await all(['Condition'], [['code', 'http://snomed.info/sct|']]), keys(conditions.filter((c) => codings(c.code).some((x) => x.system === 'http://snomed.info/sct'))));
  const active = (c: Condition) => codings(c.clinicalStatus).some((x) => x.code === 'active');
  t.same(await all(['Condition'], [['clinical-status', 'active']]), keys(conditions.filter(active)));
  t.same(await all(['Condition'], [['clinical-status:not', 'active']]), keys(conditions.filter((c) => !active(c))));
  const textMatch = (c: Condition) =>
    [c.code?.text, ...codings(c.code).map((x) => x.display)].some((s) => s !== undefined && fold(s).startsWith('diabet'));
  t.same(await all(['Condition'], [['code:text', 'Diabét']]), keys(conditions.filter(textMatch)));
  // A string matches from its start (search.html#string), not at any word: "Acute viral pharyngitis" is no match for 'viral'.
  const texts = (c: Condition) => [c.code?.text, ...codings(c.code).map((x) => x.display)].filter((s): s is string => s !== undefined).map(fold);
  t.ok(conditions.some((c) => texts(c).some((s) => s.includes(' viral'))), 'data has viral in the middle of a text');
  t.same(await all(['Condition'], [['code:text', 'viral']]), keys(conditions.filter((c) => texts(c).some((s) => s.startsWith('viral')))));
  // :in against a value set from the package; :below against a code system hierarchy from the package
  t.same(await all(['Condition'], [['clinical-status:in', 'http://hl7.org/fhir/ValueSet/condition-clinical']]), keys(conditions.filter((c) => codings(c.clinicalStatus).some((x) => x.system === 'http://terminology.hl7.org/CodeSystem/condition-clinical'))));
  const belowActive = ['active', 'recurrence', 'relapse']; // CodeSystem condition-clinical: recurrence and relapse are nested under active
  t.same(
    await all(['Condition'], [['clinical-status:below', 'http://terminology.hl7.org/CodeSystem/condition-clinical|active']]),
    keys(conditions.filter((c) => codings(c.clinicalStatus).some((x) => belowActive.includes(x.code!)))),
  );
  const deceased = (p: Patient) => p.deceasedDateTime !== undefined || p.deceasedBoolean === true;
  t.same(await all(['Patient'], [['deceased', 'true']]), keys(patients.filter(deceased)));
  t.same(await all(['Patient'], [['deceased', 'false']]), keys(patients.filter((p) => !deceased(p))));
});

t.test('token: Identifier with system|value and :of-type', async (t) => {
  const p = patients[3];
  const mrn = p.identifier!.find((i) => i.type?.coding?.some((c) => c.code === 'MR'))!;
  const expect = keys(patients.filter((x) => x.identifier?.some((i) => i.system === mrn.system && i.value === mrn.value)));
  t.same(await all(['Patient'], [['identifier', `${mrn.system}|${mrn.value}`]]), expect);
  t.same(await all(['Patient'], [['identifier:of-type', `http://terminology.hl7.org/CodeSystem/v2-0203|MR|${mrn.value}`]]), expect);
  t.same(await all(['Patient'], [['identifier:of-type', `http://terminology.hl7.org/CodeSystem/v2-0203|SS|${mrn.value}`]]), []);
});

t.test('string: starts-with folded, :exact, :contains, HumanName and Address parts', async (t) => {
  const family = patients[5].name![0].family!;
  const prefix = family.slice(0, 3);
  const nameParts = (p: Patient) => (p.name ?? []).flatMap((n) => [n.family, ...(n.given ?? []), ...(n.prefix ?? []), ...(n.suffix ?? []), n.text]).filter((s): s is string => !!s);
  t.same(await all(['Patient'], [['name', prefix.toUpperCase()]]), keys(patients.filter((p) => nameParts(p).some((s) => fold(s).startsWith(fold(prefix))))));
  t.same(await all(['Patient'], [['family:exact', family]]), keys(patients.filter((p) => p.name?.some((n) => n.family === family))));
  t.same(await all(['Patient'], [['family:exact', family.toLowerCase()]]), keys(patients.filter((p) => p.name?.some((n) => n.family === family.toLowerCase()))));
  const mid = family.slice(1, 4);
  t.same(await all(['Patient'], [['name:contains', mid]]), keys(patients.filter((p) => nameParts(p).some((s) => fold(s).includes(fold(mid))))));
  const city = patients[0].address![0].city!;
  t.same(await all(['Patient'], [['address-city', city]]), keys(patients.filter((p) => p.address?.some((a) => a.city && fold(a.city).startsWith(fold(city))))));
  t.same(await all(['Patient'], [['address', city.slice(0, 4)]]), keys(patients.filter((p) => p.address?.some((a) => [...(a.line ?? []), a.city, a.district, a.state, a.postalCode, a.country, a.text].some((s) => s && fold(s).startsWith(fold(city.slice(0, 4))))))));
});

t.test('date: every prefix on birthDate (date) and Encounter.period (Period)', async (t) => {
  const range = (s: string): [number, number] => {
    const [y, m, d] = s.split('-').map(Number);
    if (d) return [Date.UTC(y, m - 1, d), Date.UTC(y, m - 1, d + 1) - 1];
    if (m) return [Date.UTC(y, m - 1, 1), Date.UTC(y, m, 1) - 1];
    return [Date.UTC(y, 0, 1), Date.UTC(y + 1, 0, 1) - 1];
  };
  const rel: Record<string, (s: [number, number], x: [number, number]) => boolean> = {
    eq: (s, x) => x[0] >= s[0] && x[1] <= s[1],
    ne: (s, x) => !(x[0] >= s[0] && x[1] <= s[1]),
    gt: (s, x) => x[1] > s[1],
    lt: (s, x) => x[0] < s[0],
    ge: (s, x) => x[1] > s[1] || (x[0] >= s[0] && x[1] <= s[1]),
    le: (s, x) => x[0] < s[0] || (x[0] >= s[0] && x[1] <= s[1]),
    sa: (s, x) => x[0] > s[1],
    eb: (s, x) => x[1] < s[0],
  };
  for (const value of ['1960', '1974-05', patients[2].birthDate!]) {
    for (const [prefix, holds] of Object.entries(rel)) {
      const expect = keys(patients.filter((p) => p.birthDate && holds(range(value), range(p.birthDate))));
      t.same(await all(['Patient'], [['birthdate', prefix + value]]), expect, `birthdate=${prefix}${value}`);
    }
  }
  t.same(
    await all(['Patient'], [['birthdate', 'ge1950'], ['birthdate', 'lt1970']]),
    keys(patients.filter((p) => p.birthDate! >= '1950' && p.birthDate! < '1970')),
    'repeated parameters are ANDed',
  );
  const period = (e: Encounter): [number, number] => [ms(e.period!.start!), e.period!.end ? ms(e.period!.end) + 999 : 8.64e15];
  for (const value of ['2015-06-01', '2019']) {
    for (const prefix of ['ge', 'lt', 'eq', 'sa', 'eb']) {
      const expect = keys(encounters.filter((e) => e.period?.start && rel[prefix](range(value), period(e))));
      t.same(await all(['Encounter'], [['date', prefix + value]]), expect, `Encounter date=${prefix}${value}`);
    }
  }
});

t.test('quantity and composite on Observation', async (t) => {
  const weight = (o: Observation) => codings(o.code).some((c) => c.system === 'http://loinc.org' && c.code === '29463-7');
  t.same(
    await all(['Observation'], [['code', 'http://loinc.org|29463-7'], ['value-quantity', 'gt80']]),
    keys(observations.filter((o) => weight(o) && (o.valueQuantity?.value ?? -1) > 80)),
  );
  t.same(
    await all(['Observation'], [['code', 'http://loinc.org|29463-7'], ['value-quantity', 'le60|http://unitsofmeasure.org|kg']]),
    keys(observations.filter((o) => weight(o) && o.valueQuantity!.value! <= 60 && o.valueQuantity!.system === 'http://unitsofmeasure.org' && o.valueQuantity!.code === 'kg')),
  );
  // UCUM: the query's unit is converted (test-side factors are the UCUM definitions: 1 kg = 1000 g,
  // 1 [lb_av] = 0.45359237 kg, 1 g/L = 100 mg/dL, [degF] = Cel * 9/5 + 32)
  const UCUM = 'http://unitsofmeasure.org';
  const ucumValue = (o: Observation, code: string) => (o.valueQuantity?.system === UCUM && o.valueQuantity.code === code ? o.valueQuantity.value : undefined);
  const kg = (o: Observation) => (weight(o) ? ucumValue(o, 'kg') : undefined);
  /** Conversion tests only count when both answers are possible (some match, some do not). */
  const sameSplit = async (params: Array<[string, string]>, want: string[], msg: string) => {
    t.ok(want.length > 0 && want.length < observations.length, `${msg}: ${want.length} expected`);
    t.same(await all(['Observation'], params), want, msg);
  };
  t.ok(observations.some((o) => kg(o) !== undefined), 'data has body weights in kg');
  await sameSplit(
    [['code', 'http://loinc.org|29463-7'], ['value-quantity', `ge70000|${UCUM}|g`]],
    keys(observations.filter((o) => (kg(o) ?? -1) * 1000 >= 70000)),
    'kg stored, g asked',
  );
  await sameSplit(
    [['code', 'http://loinc.org|29463-7'], ['value-quantity', `le150|${UCUM}|[lb_av]`]],
    keys(observations.filter((o) => kg(o) !== undefined && kg(o)! <= 150 * 0.45359237)),
    'kg stored, pounds asked',
  );
  // eq keeps the precision of the value as given, in its unit: 70000 g means [69999.5, 70000.5) g
  t.same(
    await all(['Observation'], [['code', 'http://loinc.org|29463-7'], ['value-quantity', `70000|${UCUM}|g`]]),
    keys(observations.filter((o) => kg(o) !== undefined && kg(o)! * 1000 >= 69999.5 && kg(o)! * 1000 < 70000.5)),
  );
  const glucose = (o: Observation) => codings(o.code).some((c) => c.code === '2339-0') ? ucumValue(o, 'mg/dL') : undefined;
  t.ok(observations.some((o) => glucose(o) !== undefined), 'data has glucose in mg/dL');
  await sameSplit(
    [['code', 'http://loinc.org|2339-0'], ['value-quantity', `gt1|${UCUM}|g/L`]],
    keys(observations.filter((o) => (glucose(o) ?? -1) > 100)),
    'mg/dL stored, g/L asked',
  );
  const celsius = (o: Observation) => ucumValue(o, 'Cel');
  t.ok(observations.some((o) => celsius(o) !== undefined), 'data has temperatures in Cel');
  await sameSplit(
    [['value-quantity', `gt99.5|${UCUM}|[degF]`]],
    keys(observations.filter((o) => celsius(o) !== undefined && celsius(o)! * 9 / 5 + 32 > 99.5)),
    'Cel stored, [degF] asked (a special unit, converted by its function)',
  );
  t.same(await all(['Observation'], [['value-quantity', `le60|${UCUM}|g`]]), keys(observations.filter((o) => {
    const q = o.valueQuantity;
    return q?.system === UCUM && ((q.code === 'g' && q.value! <= 60) || (q.code === 'kg' && q.value! <= 0.06) || (q.code === 'mg' && q.value! <= 60000) || (q.code === 'pg' && q.value! <= 6e13));
  })), 'masses of every unit compared in grams');
  t.same(await all(['Observation'], [['value-quantity', 'le60|http://example.org/units|kg']]), [], 'other systems: system and code as written');
  t.same(
    await all(['Observation'], [['code', 'http://loinc.org|29463-7'], ['value-quantity', 'le60||kg']]),
    keys(observations.filter((o) => weight(o) && o.valueQuantity!.value! <= 60 && (o.valueQuantity!.code === 'kg' || o.valueQuantity!.unit === 'kg'))),
    'no system: the code or unit as written',
  );
  const systolicOver = (o: Observation, v: number) =>
    (o.component ?? []).some((c) => codings(c.code).some((x) => x.code === '8480-6') && (c.valueQuantity?.value ?? -1) > v);
  t.same(await all(['Observation'], [['component-code-value-quantity', 'http://loinc.org|8480-6$gt140']]), keys(observations.filter((o) => systolicOver(o, 140))));
  // the same element must hold both parts: a diastolic code with a systolic-sized value does not match
  const diastolicOver = (o: Observation, v: number) =>
    (o.component ?? []).some((c) => codings(c.code).some((x) => x.code === '8462-4') && (c.valueQuantity?.value ?? -1) > v);
  t.same(await all(['Observation'], [['component-code-value-quantity', 'http://loinc.org|8462-4$gt110']]), keys(observations.filter((o) => diastolicOver(o, 110))));
});

t.test('reference, chaining, _has, compartment', async (t) => {
  const p = patients[7];
  const ref = `Patient/${p.id}`;
  const bySubject = (o: { subject?: { reference?: string } }) => o.subject?.reference === ref;
  t.same(await all(['Condition'], [['patient', ref]]), keys(conditions.filter(bySubject)));
  t.same(await all(['Condition'], [['subject', p.id!]]), keys(conditions.filter(bySubject)));
  t.same(await all(['Condition'], [['subject', `${BASE}/${ref}`]]), keys(conditions.filter(bySubject)));
  t.same(await all(['Condition'], [['encounter:missing', 'true']]), keys(conditions.filter((c) => !c.encounter)));
  t.same(await all(['Condition'], [['abatement-date:missing', 'false']]), keys(conditions.filter((c) => c.abatementDateTime || c.abatementPeriod)));

  const female = new Set(patients.filter((x) => x.gender === 'female').map((x) => `Patient/${x.id}`));
  const diabetesCode = '44054006';
  const isDiabetes = (c: Condition) => codings(c.code).some((x) => x.code === diabetesCode);
  t.same(
    await all(['Condition'], [['subject:Patient.gender', 'female'], ['code', diabetesCode]]),
    keys(conditions.filter((c) => female.has(c.subject.reference!) && isDiabetes(c))),
  );
  t.same(
    await all(['Condition'], [['patient.gender', 'female'], ['code', diabetesCode]]),
    keys(conditions.filter((c) => female.has(c.subject.reference!) && isDiabetes(c))),
  );
  // two levels: Observation → Encounter → Patient
  const encFemale = new Set(encounters.filter((e) => female.has(e.subject!.reference!)).map((e) => `Encounter/${e.id}`));
  const hba1c = (o: Observation) => codings(o.code).some((c) => c.code === '4548-4');
  t.same(
    await all(['Observation'], [['encounter.subject:Patient.gender', 'female'], ['code', '4548-4']]),
    keys(observations.filter((o) => hba1c(o) && encFemale.has(o.encounter?.reference ?? ''))),
  );
  const withDiabetes = new Set(conditions.filter(isDiabetes).map((c) => c.subject.reference));
  t.same(await all(['Patient'], [['_has:Condition:patient:code', diabetesCode]]), keys(patients.filter((x) => withDiabetes.has(`Patient/${x.id}`))));
  t.same(
    await all(['Patient'], [['_has:Condition:patient:code', diabetesCode], ['gender', 'male']]),
    keys(patients.filter((x) => withDiabetes.has(`Patient/${x.id}`) && x.gender === 'male')),
  );
  // compartment: Patient/{id}/Condition uses the CompartmentDefinition (patient, asserter)
  const b = await engine.search(store.asStore(), { types: ['Condition'], params: [['_count', '1000']], compartment: { type: 'Patient', id: p.id! }, path: `Patient/${p.id}/Condition` });
  t.same(matchIds(b), keys(conditions.filter((c) => c.subject.reference === ref || c.asserter?.reference === ref)));
  const b2 = await engine.search(store.asStore(), {
    types: ['Observation'],
    params: [['code', '4548-4'], ['_count', '1000']],
    compartment: { type: 'Patient', id: p.id! },
    path: `Patient/${p.id}/Observation`,
  });
  t.same(matchIds(b2), keys(observations.filter((o) => hba1c(o) && (o.subject?.reference === ref || o.performer?.some((x) => x.reference === ref)))));
});

t.test('_sort with keyset paging, next and previous links, _total', async (t) => {
  const female = patients.filter((p) => p.gender === 'female');
  const expected = [...female].sort((a, b) => (a.birthDate! < b.birthDate! ? 1 : a.birthDate! > b.birthDate! ? -1 : a.id! < b.id! ? -1 : 1));
  let params: Array<[string, string]> = [['gender', 'female'], ['_sort', '-birthdate'], ['_count', '4']];
  const pages: string[][] = [];
  const bundles: Bundle[] = [];
  for (let i = 0; i < 50; i++) {
    const b = await engine.search(store.asStore(), { types: ['Patient'], params, path: 'Patient' });
    t.equal(b.total, female.length);
    bundles.push(b);
    pages.push((b.entry ?? []).map((e) => e.resource!.id!));
    const next = b.link!.find((l) => l.relation === 'next');
    if (!next) break;
    t.ok(next.url.startsWith(`${BASE}/Patient?`));
    params = [...new URL(next.url).searchParams.entries()] as Array<[string, string]>;
  }
  t.same(pages.flat(), expected.map((p) => p.id), 'pages concatenate to the sorted result, no gaps or repeats');
  t.notOk(bundles[0].link!.some((l) => l.relation === 'previous'), 'first page has no previous link');
  // going back from page 3 gives page 2
  const prev = bundles[2].link!.find((l) => l.relation === 'previous')!;
  const back = await engine.search(store.asStore(), { types: ['Patient'], params: [...new URL(prev.url).searchParams.entries()] as Array<[string, string]>, path: 'Patient' });
  t.same((back.entry ?? []).map((e) => e.resource!.id), pages[1]);
  // data changing between pages: a resource inserted before the cursor does not shift the next page
  store.put({ resourceType: 'Patient', id: 'aaa-new', gender: 'female', birthDate: '2030-01-01' } as Patient);
  const next1 = bundles[0].link!.find((l) => l.relation === 'next')!;
  const again = await engine.search(store.asStore(), { types: ['Patient'], params: [...new URL(next1.url).searchParams.entries()] as Array<[string, string]>, path: 'Patient' });
  t.same((again.entry ?? []).map((e) => e.resource!.id), pages[1]);
  store.delete('Patient', 'aaa-new');

  const none = await engine.search(store.asStore(), { types: ['Patient'], params: [['_total', 'none']], path: 'Patient' });
  t.equal(none.total, undefined);
  const noneNext = none.link!.find((l) => l.relation === 'next')!;
  const none2 = await engine.search(store.asStore(), { types: ['Patient'], params: [...new URL(noneNext.url).searchParams.entries()] as Array<[string, string]>, path: 'Patient' });
  t.equal(none2.total, undefined, '_total=none: no total on later pages either');
  const count = await engine.search(store.asStore(), { types: ['Condition'], params: [['_summary', 'count'], ['code', '44054006']], path: 'Condition' });
  t.equal(count.total, conditions.filter((c) => codings(c.code).some((x) => x.code === '44054006')).length);
  t.equal(count.entry, undefined);
  // several sort keys
  const two = await all(['Encounter'], [['_sort', 'class,-date'], ['patient', `Patient/${patients[1].id}`]], 7);
  t.same(two, keys(encounters.filter((e) => e.subject?.reference === `Patient/${patients[1].id}`)));
  const ordered = await engine.search(store.asStore(), { types: ['Encounter'], params: [['_sort', 'class,-date'], ['patient', `Patient/${patients[1].id}`], ['_count', '1000']], path: 'Encounter' });
  const got = (ordered.entry ?? []).map((e) => e.resource as Encounter);
  const want = encounters
    .filter((e) => e.subject?.reference === `Patient/${patients[1].id}`)
    .sort((a, b) => (a.class.code! < b.class.code! ? -1 : a.class.code! > b.class.code! ? 1 : ms(b.period!.end ?? b.period!.start!) - ms(a.period!.end ?? a.period!.start!) || (a.id! < b.id! ? -1 : 1)));
  t.same(got.map((e) => e.id), want.map((e) => e.id));
});

t.test('_total=estimate and accurate: which pages count', async (t) => {
  // a store wrapper that counts the count queries
  let counts = 0;
  const counting = Object.assign(Object.create(store), { count: (...a: Parameters<MemoryStore['count']>) => (counts++, store.count(...a)) }) as MemoryStore;
  const page = async (params: Array<[string, string]>) => engine.search(counting.asStore(), { types: ['Patient'], params, path: 'Patient' });
  const nextOf = (b: Bundle) => [...new URL(b.link!.find((l) => l.relation === 'next')!.url).searchParams.entries()] as Array<[string, string]>;
  const female = patients.filter((p) => p.gender === 'female').length;

  // a first page that holds every match: the total is known without a count query
  for (const mode of ['accurate', 'estimate']) {
    counts = 0;
    const b = await page([['gender', 'female'], ['_total', mode], ['_count', '1000']]);
    t.equal(b.total, female, `${mode}: whole result on one page`);
    t.equal(counts, 0, `${mode}: no count query`);
  }
  // paging with estimate: counted once, then carried
  counts = 0;
  const e1 = await page([['gender', 'female'], ['_total', 'estimate'], ['_count', '5']]);
  t.equal(e1.total, female);
  t.equal(counts, 1, 'estimate: the first page counts');
  store.put({ resourceType: 'Patient', id: 'aaa-estimate', gender: 'female', birthDate: '2030-01-01' } as Patient);
  const e2 = await page(nextOf(e1));
  const e3 = await page(nextOf(e2));
  t.equal(counts, 1, 'estimate: later pages do not count');
  t.equal(e2.total, female, 'estimate: the carried total (drifts by what changed meanwhile)');
  t.equal(e3.total, female);
  // accurate counts on every later page and sees the change
  counts = 0;
  const a1 = await page([['gender', 'female'], ['_total', 'accurate'], ['_count', '5']]);
  const a2 = await page(nextOf(a1));
  t.equal(counts, 2, 'accurate: every page with more than one page of matches counts');
  t.equal(a1.total, female + 1);
  t.equal(a2.total, female + 1);
  store.delete('Patient', 'aaa-estimate');
  // a forged carried total is refused like any broken cursor
  const forged = nextOf(e1).map(([k, v]): [string, string] => (k === '_cursor' ? [k, Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(v, 'base64url').toString()), t: -3 })).toString('base64url')] : [k, v]));
  await t.rejects(page(forged), /cursor/);
});

t.test('token :in/:not-in with a value set given as data, :above, :missing; quantity ne sa eb ap', async (t) => {
  // a value set of our own (data, as an IG would bring): ambulatory encounters only
  const V3 = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
  const ambulatory = { resourceType: 'ValueSet', url: 'urn:test:ambulatory', status: 'active', compose: { include: [{ system: V3, concept: [{ code: 'AMB' }] }] } } as const;
  const withVs = createSearchEngine({ baseUrl: BASE, terminology: [ambulatory as never] });
  const run = (type: string, params: Array<[string, string]>) => all([type], params, 500, withVs);
  const amb = (e: Encounter) => e.class.system === V3 && e.class.code === 'AMB';
  t.ok(encounters.some(amb) && encounters.some((e) => !amb(e)), 'data has ambulatory and other encounters');
  t.same((await run('Encounter', [['class:in', 'urn:test:ambulatory']])).sort(), keys(encounters.filter(amb)));
  t.same((await run('Encounter', [['class:not-in', 'urn:test:ambulatory']])).sort(), keys(encounters.filter((e) => !amb(e))));
  // :above — the codes the given code sits under, itself included (recurrence is under active)
  const CC = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
  const aboveRecurrence = (c: Condition) => codings(c.clinicalStatus).some((x) => x.system === CC && (x.code === 'recurrence' || x.code === 'active'));
  t.ok(conditions.some(aboveRecurrence) && conditions.some((c) => !aboveRecurrence(c)));
  t.same(await all(['Condition'], [['clinical-status:above', `${CC}|recurrence`]]), keys(conditions.filter(aboveRecurrence)));
  // :missing on a token
  const hasReason = (e: Encounter) => (e.reasonCode ?? []).some((r) => (r.coding ?? []).length > 0 || !!r.text);
  t.ok(encounters.some(hasReason) && encounters.some((e) => !hasReason(e)));
  t.same(await all(['Encounter'], [['reason-code:missing', 'true']]), keys(encounters.filter((e) => !hasReason(e))));
  t.same(await all(['Encounter'], [['reason-code:missing', 'false']]), keys(encounters.filter(hasReason)));
  // quantity prefixes on a single value: ne outside [79.5, 80.5); sa/eb strictly after/before; ap within 10%
  const weights = observations.filter((o) => codings(o.code).some((c) => c.code === '29463-7') && typeof o.valueQuantity?.value === 'number');
  const w = (o: Observation) => o.valueQuantity!.value!;
  const cases: Array<[string, (v: number) => boolean]> = [
    ['ne80', (v) => v < 79.5 || v >= 80.5],
    ['sa80', (v) => v > 80],
    ['eb80', (v) => v < 80],
    ['ap80', (v) => v >= 72 && v <= 88],
  ];
  for (const [q, holds] of cases) {
    t.same(await all(['Observation'], [['code', 'http://loinc.org|29463-7'], ['value-quantity', q]]), keys(weights.filter((o) => holds(w(o)))), `value-quantity=${q}`);
  }
});

t.test('chains reach into contained resources (ExplanationOfBenefit → contained Coverage)', async (t) => {
  type Eob = { resourceType: string; id: string; contained?: Array<Record<string, any>>; insurance?: Array<{ coverage?: { reference?: string } }> };
  const eobs = resources.filter((r) => r.resourceType === 'ExplanationOfBenefit') as unknown as Eob[];
  const coverageOf = (e: Eob) =>
    (e.insurance ?? []).flatMap((i) => {
      const ref = i.coverage?.reference;
      const c = ref?.startsWith('#') ? e.contained?.find((x) => x.resourceType === 'Coverage' && `#${x.id}` === ref) : undefined;
      return c ? [c] : [];
    });
  t.ok(eobs.some((e) => coverageOf(e).length > 0), 'Synthea claims carry a contained Coverage');
  const texts = [...new Set(eobs.flatMap((e) => coverageOf(e).map((c) => c.type?.text as string | undefined)).filter((x): x is string => !!x))];
  const word = fold(texts[0]).split(/\s+/)[0];
  const byText = (e: Eob) => coverageOf(e).some((c) => typeof c.type?.text === 'string' && fold(c.type.text).startsWith(word));
  t.ok(eobs.some(byText) && eobs.some((e) => !byText(e)), `coverage type '${word}' splits the claims`);
  t.same(await all(['ExplanationOfBenefit'], [['coverage.type:text', word]]), keys(eobs.filter(byText) as never));
  const p = patients[2];
  const byBeneficiary = (e: Eob) => coverageOf(e).some((c) => c.beneficiary?.reference === `Patient/${p.id}`);
  t.ok(eobs.some(byBeneficiary));
  t.same(await all(['ExplanationOfBenefit'], [['coverage:Coverage.beneficiary', `Patient/${p.id}`]]), keys(eobs.filter(byBeneficiary) as never));
  // two levels: the contained Coverage's beneficiary, chained on to the Patient
  const female = new Set(patients.filter((x) => x.gender === 'female').map((x) => `Patient/${x.id}`));
  const byFemale = (e: Eob) => coverageOf(e).some((c) => female.has(c.beneficiary?.reference));
  t.same(await all(['ExplanationOfBenefit'], [['coverage.beneficiary:Patient.gender', 'female']]), keys(eobs.filter(byFemale) as never));
});

t.test('_list, _contained, _containedType', async (t) => {
  // a care-team worklist of real Synthea resources, in the reference forms a List may use
  const chosen = patients.filter((p) => p.gender === 'female' && p.birthDate! < '1960');
  t.ok(chosen.length >= 3, 'enough patients for the list');
  const [first, second, third, ...rest] = chosen;
  const cond = conditions.find((c) => c.subject.reference === `Patient/${first.id}`)!;
  const list = {
    resourceType: 'List', id: 'worklist', status: 'current', mode: 'working',
    contained: [{ resourceType: 'Patient', id: first.id }],
    entry: [
      { item: { reference: `Patient/${first.id}` } },
      { item: { reference: `${BASE}/Patient/${second.id}` } },
      { item: { reference: `Patient/${third.id}/_history/1` } },
      ...rest.map((p) => ({ item: { reference: `Patient/${p.id}` }, deleted: true })),
      { item: { reference: `#${first.id}` } },
      { item: { reference: `Condition/${cond.id}` } },
    ],
  } as unknown as Resource;
  const other = { resourceType: 'List', id: 'other', status: 'current', mode: 'snapshot', entry: [{ item: { reference: `Patient/${patients[0].id}` } }] } as unknown as Resource;
  store.put(list);
  store.put(other);
  t.teardown(() => (store.delete('List', 'worklist'), store.delete('List', 'other')));
  // what the list names, computed from the List: live entries, references to outside resources only
  const named = (l: { entry?: Array<{ item: { reference?: string }; deleted?: boolean }> }, type: string) =>
    (l.entry ?? [])
      .filter((e) => !e.deleted && e.item.reference && !e.item.reference.startsWith('#'))
      .map((e) => e.item.reference!.replace(`${BASE}/`, '').replace(/\/_history\/.*$/, ''))
      .filter((r) => r.startsWith(`${type}/`))
      .sort();
  t.same(await all(['Patient'], [['_list', 'worklist']]), named(list as never, 'Patient'));
  t.same(await all(['Condition'], [['_list', 'worklist']]), named(list as never, 'Condition'));
  t.same(await all(['Patient'], [['_list', 'worklist,other']]), [...named(list as never, 'Patient'), ...named(other as never, 'Patient')].sort(), 'comma = either list');
  t.same(await all(['Patient'], [['_list', 'worklist'], ['birthdate', `lt${third.birthDate}`]]), keys([first, second, third].filter((p) => p.birthDate! < third.birthDate!)), 'ANDed with other parameters');
  t.same(await all(['Patient'], [['_list', 'no-such-list']]), []);
  const refused = async (params: Array<[string, string]>, re: RegExp) => {
    const e = await engine.search(store.asStore(), { types: ['Patient'], params, path: 'Patient' }).then(() => undefined, (x: unknown) => x as { status: number; message?: string; issues: Array<{ diagnostics?: string }> });
    t.equal(e?.status, 400, `${params.map((p) => p.join('=')).join('&')} refused`);
    t.match(e?.issues[0].diagnostics ?? '', re);
  };
  await refused([['_list', '$current-allergies']], /\$current-allergies/);
  await refused([['_list:not', 'worklist']], /_list/);
  await refused([['_contained', 'true']], /_contained/);
  await refused([['_contained', 'both']], /_contained/);
  await refused([['_containedType', 'contained']], /_containedType/);
  await refused([['_contained', 'maybe']], /_contained/);
  // the defaults are what this server does
  t.same(await all(['Patient'], [['_contained', 'false'], ['_containedType', 'container'], ['_list', 'other']]), [`Patient/${patients[0].id}`]);
  // lenient: ignored and reported
  const lenient = await engine.search(store.asStore(), { types: ['Patient'], params: [['_contained', 'true'], ['_list', 'other']], path: 'Patient', lenient: true });
  t.same(matchIds(lenient), [`Patient/${patients[0].id}`]);
  t.match(JSON.stringify(lenient.entry?.find((e) => e.search?.mode === 'outcome')), /_contained/);
});

t.test('_include, _revinclude, _summary, _elements, _type, _tag, _lastUpdated', async (t) => {
  const p = patients[4];
  const ref = `Patient/${p.id}`;
  const b = await engine.search(store.asStore(), {
    types: ['Condition'],
    params: [['patient', ref], ['_include', 'Condition:subject'], ['_include', 'Condition:encounter'], ['_count', '1000']],
    path: 'Condition',
  });
  const conds = conditions.filter((c) => c.subject.reference === ref);
  const includes = (b.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => `${e.resource!.resourceType}/${e.resource!.id}`).sort();
  t.same(includes, [...new Set([ref, ...conds.map((c) => c.encounter?.reference).filter((x): x is string => !!x)])].sort());
  const rb = await engine.search(store.asStore(), { types: ['Patient'], params: [['_id', p.id!], ['_revinclude', 'Condition:subject']], path: 'Patient' });
  t.same(rb.entry!.filter((e) => e.search?.mode === 'include').map((e) => e.resource!.id).sort(), conds.map((c) => c.id).sort());
  // iterate: Condition → Encounter → (Encounter:service-provider) Organization
  const it = await engine.search(store.asStore(), {
    types: ['Condition'],
    params: [['patient', ref], ['_include', 'Condition:encounter'], ['_include:iterate', 'Encounter:service-provider'], ['_count', '1000']],
    path: 'Condition',
  });
  const encs = new Set(conds.map((c) => c.encounter?.reference));
  const orgs = encounters.filter((e) => encs.has(`Encounter/${e.id}`)).map((e) => e.serviceProvider?.reference).filter((x): x is string => !!x);
  const inc = (it.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => `${e.resource!.resourceType}/${e.resource!.id}`);
  for (const o of new Set(orgs)) t.ok(inc.includes(o), `iterated include ${o}`);

  const s = await engine.search(store.asStore(), { types: ['Patient'], params: [['_id', p.id!], ['_summary', 'true']], path: 'Patient' });
  const sr = s.entry![0].resource as Patient;
  t.ok(sr.name && sr.gender && sr.birthDate, 'summary elements kept');
  t.equal((sr as Patient).extension, undefined, 'non-summary elements dropped');
  t.equal((sr as Patient).text, undefined);
  t.ok(sr.meta?.tag?.some((x) => x.code === 'SUBSETTED'));
  const e = await engine.search(store.asStore(), { types: ['Patient'], params: [['_id', p.id!], ['_elements', 'gender']], path: 'Patient' });
  t.same(Object.keys(e.entry![0].resource!).sort(), ['gender', 'id', 'meta', 'resourceType']);
  const d = await engine.search(store.asStore(), { types: ['Patient'], params: [['_id', p.id!], ['_summary', 'data']], path: 'Patient' });
  t.equal((d.entry![0].resource as Patient).text, undefined);
  t.ok((d.entry![0].resource as Patient).extension);

  const typed = await all([], [['_type', 'Patient,Goal'], ['_tag', 'https://smarthealthit.org/tags|synthea-5-2019']]);
  t.same(typed, keys(resources.filter((r) => (r.resourceType === 'Patient' || r.resourceType === 'Goal') && r.meta?.tag?.some((x) => x.code === 'synthea-5-2019'))));
  // _lastUpdated: the test store stamps one second apart in load order
  const stored = await store.readMany([`Patient/${patients[10].id}`]);
  const cut = new Date(stored[0].lu).toISOString();
  const later = await all(['Patient'], [['_lastUpdated', `gt${cut}`]]);
  const allLu = await store.readMany(patients.map((x) => `Patient/${x.id}`));
  t.same(later, allLu.filter((v) => v.lu > stored[0].lu).map((v) => `Patient/${v.id}`).sort());
  // Every prefix, against an instant given to the millisecond: the search range is that one instant.
  const at = stored[0].lu;
  const pointSpec: Record<string, (lu: number) => boolean> = {
    eq: (lu) => lu === at, ne: (lu) => lu !== at, gt: (lu) => lu > at, lt: (lu) => lu < at,
    ge: (lu) => lu >= at, le: (lu) => lu <= at, sa: (lu) => lu > at, eb: (lu) => lu < at,
  };
  for (const [prefix, holds] of Object.entries(pointSpec)) {
    const got = await all(['Patient'], [['_lastUpdated', `${prefix}${cut}`]]);
    const want = allLu.filter((v) => holds(v.lu)).map((v) => `Patient/${v.id}`).sort();
    t.same(got, want, `_lastUpdated=${prefix}${cut}: ${want.length} of ${allLu.length}`);
  }
});
