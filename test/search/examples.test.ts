import t from 'tap';
import type { CarePlan, Observation, Patient, Reference, Resource } from 'fhir/r4.js';
import { createSearchEngine } from '../../src/search/engine.js';
import { loadR4Examples, matchIds, MemoryStore, testDataDir } from './memory-store.js';

/** Searches over the official R4 examples; expected ids are computed from the files in plain TypeScript. */
const dir = testDataDir();
if (!dir) {
  console.log('# shared test data not found (set FHIR_TEST_DATA); skipping R4 example search tests');
  process.exit(0);
}
const BASE = 'http://localhost/fhir';
const engine = createSearchEngine({ baseUrl: BASE });
const store = new MemoryStore(engine);
const resources = loadR4Examples(dir);
for (const r of resources) store.put(r);
const keys = (rs: Resource[]) => rs.map((r) => `${r.resourceType}/${r.id}`).sort();
const ofType = <T extends Resource>(type: T['resourceType']) => resources.filter((r) => r.resourceType === type) as T[];
const run = async (types: string[], params: Array<[string, string]>) =>
  engine.search(store.asStore(), { types, params: [...params, ['_count', '1000']], path: types.join(',') });
const ids = async (types: string[], params: Array<[string, string]>) => matchIds(await run(types, params));

t.test('uri: _profile exact, :below, :above', async (t) => {
  const vs = 'http://hl7.org/fhir/StructureDefinition/vitalsigns';
  const withProfile = (p: (u: string) => boolean) => keys(resources.filter((r) => r.meta?.profile?.some(p)));
  t.same(await ids(['Observation'], [['_profile', vs]]), withProfile((u) => u === vs));
  t.ok((await ids(['Observation'], [['_profile', vs]])).length >= 12);
  t.same(await ids(['Observation'], [['_profile:below', 'http://hl7.org/fhir/StructureDefinition']]), withProfile((u) => u.startsWith('http://hl7.org/fhir/StructureDefinition/')));
  t.same(await ids(['Observation'], [['_profile:below', 'http://hl7.org/fhir/Struct']]), [], ':below works on path segments');
  t.same(await ids(['Observation'], [['_profile:above', `${vs}/sub/deeper`]]), withProfile((u) => u === vs));
});

t.test('reference :identifier and contained references', async (t) => {
  const basedOnId = (o: Observation) => o.basedOn?.some((b) => b.identifier?.system === 'https://acme.org/identifiers' && b.identifier.value === '1234');
  t.same(await ids(['Observation'], [['based-on:identifier', 'https://acme.org/identifiers|1234']]), keys(ofType<Observation>('Observation').filter((o) => !!basedOnId(o))));
  t.ok((await ids(['Observation'], [['based-on:identifier', '1234']])).length > 0);
  // a contained target ("#goal") is not a server resource: it never matches Goal/goal, yet counts as present
  const plans = ofType<CarePlan>('CarePlan');
  t.same(await ids(['CarePlan'], [['goal', 'Goal/goal']]), keys(plans.filter((p) => p.goal?.some((g) => g.reference === 'Goal/goal'))));
  t.same(await ids(['CarePlan'], [['goal:missing', 'false']]), keys(plans.filter((p) => p.goal?.some((g) => !!g.reference))));
  t.same(await ids(['CarePlan'], [['condition', 'Condition/f204']]), keys(plans.filter((p) => p.addresses?.some((a) => a.reference === 'Condition/f204'))));
});

t.test('references to contained resources (#id) with where(resolve() is X)', async (t) => {
  // Observation.patient is `subject.where(resolve() is Patient)`: a '#id' subject counts when the
  // contained resource with that id is a Patient, judged from the container itself
  const obs = ofType<Observation>('Observation');
  const containedOf = (o: Observation, ref: string | undefined) =>
    ref?.startsWith('#') ? o.contained?.find((c) => `#${c.id}` === ref) : undefined;
  const toPatient = (o: Observation) => {
    const r = o.subject?.reference;
    return !!r && (r.startsWith('Patient/') || o.subject?.type === 'Patient' || containedOf(o, r)?.resourceType === 'Patient');
  };
  const viaContained = obs.filter((o) => containedOf(o, o.subject?.reference)?.resourceType === 'Patient');
  t.ok(viaContained.length >= 5, `${viaContained.length} examples have a contained Patient subject`);
  t.same(await ids(['Observation'], [['patient:missing', 'false']]), keys(obs.filter(toPatient)));
  t.same(await ids(['Observation'], [['patient:missing', 'true']]), keys(obs.filter((o) => !toPatient(o))));
  // a contained Group subject is no Patient
  const group = { resourceType: 'Observation', id: 'contained-group', status: 'final', code: { text: 'x' }, contained: [{ resourceType: 'Group', id: 'newborn', type: 'person', actual: true }], subject: { reference: '#newborn' } } as unknown as Observation;
  store.put(group);
  t.teardown(() => store.delete('Observation', 'contained-group'));
  t.notOk((await ids(['Observation'], [['patient:missing', 'false']])).includes('Observation/contained-group'));
  // '#newborn' is not Patient/newborn: a server Patient with that id matches none of them
  const outside = { resourceType: 'Patient', id: 'newborn' } as Resource;
  store.put(outside);
  t.teardown(() => store.delete('Patient', 'newborn'));
  t.same(await ids(['Observation'], [['patient', 'newborn']]), keys(obs.filter((o) => o.subject?.reference === 'Patient/newborn')));
  t.same(await ids(['Observation'], [['subject', 'Patient/newborn']]), keys(obs.filter((o) => o.subject?.reference === 'Patient/newborn')));
  // chains are evaluated inside contained resources (search.html): the server Patient and the contained ones both count
  t.same(
    await ids(['Observation'], [['subject:Patient._id', 'newborn']]),
    keys(obs.filter((o) => o.subject?.reference === 'Patient/newborn' || (containedOf(o, o.subject?.reference)?.resourceType === 'Patient' && o.subject?.reference === '#newborn'))),
    'a chain reaches the server Patient and contained ones',
  );
  const containedPatient = viaContained[0].contained!.find((c) => c.resourceType === 'Patient') as Patient;
  if (containedPatient.gender) {
    t.same(
      await ids(['Observation'], [['patient.gender', containedPatient.gender]]),
      keys(obs.filter((o) => {
        const c = containedOf(o, o.subject?.reference);
        return c?.resourceType === 'Patient' && (c as Patient).gender === containedPatient.gender;
      }).concat(obs.filter((o) => o.subject?.reference?.startsWith('Patient/') && (resources.find((r) => `Patient/${r.id}` === o.subject!.reference && r.resourceType === 'Patient') as Patient | undefined)?.gender === containedPatient.gender))),
      'patient.gender through contained and server Patients',
    );
  }
  t.same(await ids(['Observation'], [['subject:Group._id', 'newborn']]), keys([group]), 'the contained Group only, by its type');
  const inc = await run(['Observation'], [['_id', viaContained[0].id!], ['_include', 'Observation:patient'], ['_include', 'Observation:subject']]);
  t.same((inc.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => e.resource!.id), [], '_include does not fetch an outside resource for #id');
  // a search value '#id' has no meaning across resources: refused
  const e = await run(['Observation'], [['subject', '#newborn']]).then(() => undefined, (x: { status: number }) => x);
  t.equal(e?.status, 400);
});

t.test('_security, _source, and common parameters this server does not implement', async (t) => {
  const TBOO = 'http://terminology.hl7.org/CodeSystem/v3-ActCode|TBOO';
  const taboo = resources.filter((r) => r.meta?.security?.some((s) => `${s.system}|${s.code}` === TBOO));
  t.ok(taboo.length > 0, 'an example carries a security label');
  t.same(await ids(['Condition'], [['_security', TBOO]]), keys(taboo.filter((r) => r.resourceType === 'Condition')));
  t.same(await ids(['Condition'], [['_security:not', TBOO]]), keys(ofType('Condition').filter((r) => !taboo.includes(r))));
  // no example has meta.source: copies of the Observation examples get one of two feeds
  const feeds = ['http://ehr.example.org/feed-a', 'http://ehr.example.org/feed-b#batch7'];
  const copies = ofType<Observation>('Observation').map((o, i) => ({ ...o, id: `src-${o.id}`.slice(0, 64), meta: { ...o.meta, source: feeds[i % 2] } }) as Observation);
  for (const c of copies) store.put(c);
  t.teardown(() => copies.forEach((c) => store.delete('Observation', c.id!)));
  for (const f of feeds) t.same(await ids(['Observation'], [['_source', f]]), keys(copies.filter((c) => c.meta!.source === f)), `_source=${f}`);
  // strict: R4's other common parameters are refused by name, not ignored
  for (const p of ['_text', '_content', '_query', '_filter']) {
    const e = await run(['Observation'], [[p, 'x']]).then(() => undefined, (x: { status: number; issues: Array<{ diagnostics?: string }> }) => x);
    t.equal(e?.status, 400, `${p} refused`);
    t.match(e?.issues[0].diagnostics ?? '', p);
  }
});

t.test('_include=*, _revinclude:iterate, _has nested, system search', async (t) => {
  const plan = ofType<CarePlan>('CarePlan').find((p) => p.id === 'f201')!;
  const refs = new Set<string>();
  const walk = (n: unknown, inContained: boolean) => {
    if (Array.isArray(n)) n.forEach((x) => walk(x, inContained));
    else if (n && typeof n === 'object') {
      for (const [k, v] of Object.entries(n)) {
        if (k === 'contained') continue;
        if (k === 'reference' && typeof v === 'string' && /^[A-Z][A-Za-z]+\/[^/]+$/.test(v)) refs.add(v);
        else walk(v, inContained);
      }
    }
  };
  walk(plan, false);
  const present = new Set(resources.map((r) => `${r.resourceType}/${r.id}`));
  const b = await run(['CarePlan'], [['_id', 'f201'], ['_include', '*']]);
  const included = (b.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => `${e.resource!.resourceType}/${e.resource!.id}`).sort();
  // every included resource is one CarePlan/f201 references through a search parameter
  for (const k of included) t.ok(refs.has(k), `included ${k} is referenced`);
  t.ok(included.includes('Patient/f201') && included.includes('Condition/f204'));
  t.notOk(included.some((k) => !present.has(k)));
  // Patient f201 ← Condition (subject) ← CarePlan (condition), iterated
  const r = await run(['Patient'], [['_id', 'f201'], ['_revinclude', 'Condition:subject'], ['_revinclude:iterate', 'CarePlan:condition']]);
  const rIncluded = (r.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => `${e.resource!.resourceType}/${e.resource!.id}`);
  const condsOf = resources.filter((x) => x.resourceType === 'Condition' && (x as { subject?: Reference }).subject?.reference === 'Patient/f201');
  const plansOf = ofType<CarePlan>('CarePlan').filter((p) => p.addresses?.some((a) => condsOf.some((c) => a.reference === `Condition/${c.id}`)));
  t.ok(plansOf.length > 0, 'the f201 story has a CarePlan addressing a Condition');
  t.same(rIncluded.sort(), keys([...condsOf, ...plansOf]));
  // the wildcard for the parameter name (search.html#include): every reference parameter that can point at the matches
  const condOfF201 = ofType<Resource>('Condition').filter((c) => {
    const x = c as unknown as { subject?: Reference; asserter?: Reference };
    return x.subject?.reference === 'Patient/f201' || x.asserter?.reference === 'Patient/f201';
  });
  const revCond = await run(['Patient'], [['_id', 'f201'], ['_revinclude', 'Condition:*']]);
  t.same((revCond.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => `${e.resource!.resourceType}/${e.resource!.id}`).sort(), keys(condOfF201), 'Condition:* = subject, patient and asserter');
  const refersTo = (r: Resource, key: string) => {
    let found = false;
    const visit = (n: unknown): void => {
      if (Array.isArray(n)) n.forEach(visit);
      else if (n && typeof n === 'object') for (const [k, v] of Object.entries(n)) if (k !== 'contained') (k === 'reference' && v === key ? (found = true) : visit(v));
    };
    visit(r);
    return found;
  };
  const revAll = await run(['Patient'], [['_id', 'f201'], ['_revinclude', '*']]);
  const allIncluded = (revAll.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => `${e.resource!.resourceType}/${e.resource!.id}`).sort();
  const referring = resources.filter((r) => refersTo(r, 'Patient/f201'));
  const bySubject = referring.filter((r) => ['Condition', 'Observation', 'Encounter', 'Procedure', 'DiagnosticReport', 'CarePlan'].includes(r.resourceType) && (r as { subject?: Reference }).subject?.reference === 'Patient/f201');
  t.ok(bySubject.length >= 8, `${bySubject.length} examples have Patient/f201 as subject`);
  for (const k of keys(bySubject)) t.ok(allIncluded.includes(k), `* includes ${k}`);
  for (const k of allIncluded) t.ok(keys(referring).includes(k), `${k} refers to Patient/f201`);
  t.ok(keys(condOfF201).every((k) => allIncluded.includes(k)), '* covers Condition:*');
  const none = await run(['Patient'], [['_id', 'f201'], ['_revinclude', 'Medication:*']]).then(() => undefined, (x: { status: number; issues: Array<{ diagnostics?: string }> }) => x);
  t.equal(none?.status, 400, 'Medication:* can include nothing on a Patient search');
  t.match(none?.issues[0].diagnostics ?? '', /can include nothing/);
  const noMatch = await run(['Patient'], [['_id', 'no-such-patient'], ['_revinclude', '*']]);
  t.same(noMatch.entry ?? [], [], 'no match, nothing included, no error');
  // Patients with a Condition that some CarePlan addresses
  const nested = await ids(['Patient'], [['_has:Condition:subject:_has:CarePlan:condition:status', 'active,completed,draft,on-hold,revoked,entered-in-error,unknown']]);
  const plannedConditions = new Set(ofType<CarePlan>('CarePlan').flatMap((p) => p.addresses?.map((a) => a.reference) ?? []));
  const expectedNested = new Set(resources.filter((x) => x.resourceType === 'Condition' && plannedConditions.has(`Condition/${x.id}`)).map((x) => (x as { subject?: Reference }).subject?.reference));
  t.same(nested, [...expectedNested].filter((k): k is string => !!k && k.startsWith('Patient/') && present.has(k)).sort());
  // system search: _type + _id
  t.same(await ids([], [['_type', 'Patient,Practitioner'], ['_id', 'f201']]), ['Patient/f201', 'Practitioner/f201']);
  t.same(await ids([], [['_id', 'example'], ['_type', 'Goal,CarePlan']]), ['CarePlan/example', 'Goal/example']);
  const sum = await run(['Patient'], [['_id', 'example'], ['_summary', 'text']]);
  t.same(Object.keys(sum.entry![0].resource!).sort(), ['id', 'meta', 'resourceType', 'text']);
});
