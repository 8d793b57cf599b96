// profiles/: generated reproducibly, snapshots consistent with differentials, applies-when and
// constraint FHIRPath expressions behave on the example resources and on broken ones.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/project-root.js';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import type { Bundle, ElementDefinition, Encounter, StructureDefinition } from 'fhir/r4.js';

const root = projectRoot();
const profilesDir = join(root, 'profiles');
const read = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8');
const files = readdirSync(profilesDir).filter((f) => f.endsWith('.json'));
const load = <T>(f: string) => JSON.parse(read(profilesDir, f)) as T;
const APPLIES_WHEN = 'https://ccm-fhir.org/fhir/StructureDefinition/applies-when';

t.test('profiles/ is exactly what the build script generates', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'ccm-profiles-'));
  execFileSync(process.execPath, [join(root, 'scripts/build-ccm-profiles.mjs'), out]);
  const built = readdirSync(out).filter((f) => f.endsWith('.json')).sort();
  t.same(built, [...files].sort());
  for (const f of built) t.equal(read(out, f), read(profilesDir, f), f);
});

t.test('every resource has the canonical base and the CodeSystem has every CM code', async (t) => {
  for (const f of files) {
    const r = load<{ resourceType: string; url?: string; id?: string }>(f);
    t.equal(r.url, `https://ccm-fhir.org/fhir/${r.resourceType}/${r.id}`, f);
    t.equal(f, `${r.resourceType}-${r.id}.json`, 'file named for the resource');
  }
  const cs = load<{ concept: Array<{ code: string }> }>('CodeSystem-care-management.json');
  t.same(
    cs.concept.map((c) => c.code),
    ['care-management-time', 'clinical-staff', 'billing-practitioner', 'ccm-consent', 'ccm-care-plan', 'care-coordination', 'medication-management', 'patient-education', 'care-plan-review', 'community-referral', 'symptom-monitoring', 'caregiver-support', 'other'],
  );
});

const sds = files.filter((f) => f.startsWith('StructureDefinition-')).map((f) => load<StructureDefinition>(f));

t.test('StructureDefinitions: snapshot and differential agree', async (t) => {
  t.equal(sds.length, 8);
  for (const sd of sds) {
    t.equal(sd.derivation, 'constraint', `${sd.id}: a constraint profile`);
    t.ok(sd.snapshot?.element.length && sd.differential?.element.length, `${sd.id}: snapshot and differential`);
    const snap = new Map(sd.snapshot!.element.map((e) => [e.id, e]));
    t.equal(snap.size, sd.snapshot!.element.length, `${sd.id}: unique snapshot ids`);
    for (const d of sd.differential!.element) {
      const s = snap.get(d.id) as ElementDefinition | undefined;
      t.ok(s, `${sd.id}: ${d.id} in snapshot`);
      for (const key of ['min', 'max', 'sliceName', 'fixedUri', 'type', 'binding'] as const) {
        if (d[key] !== undefined) t.same(s?.[key], d[key], `${sd.id}: ${d.id}.${key}`);
      }
      for (const c of d.constraint ?? []) t.ok(s?.constraint?.some((x) => x.key === c.key), `${sd.id}: ${c.key} in snapshot`);
    }
    const resourceProfile = sd.kind === 'resource';
    t.equal((sd.extension ?? []).some((e) => e.url === APPLIES_WHEN && typeof e.valueString === 'string'), resourceProfile, `${sd.id}: applies-when on resource profiles only`);
  }
});

const example = JSON.parse(read(join(profilesDir, 'examples'), 'ccm-example-transaction.json')) as Bundle;
const exampleOf = (type: string) => example.entry!.map((e) => e.resource!).filter((r) => r.resourceType === type);

const sdFor = (id: string) => sds.find((s) => s.id === id)!;
const eval1 = (r: object, expr: string) => fhirpath.evaluate(r, expr, undefined, r4) as unknown[];
const appliesTo = (id: string, r: object) => eval1(r, sdFor(id).extension!.find((e) => e.url === APPLIES_WHEN)!.valueString!)[0] === true;
/**
 * keys of the profile's own constraints that fail on r, each evaluated where the validator runs it:
 * on every occurrence of its element (none present: nothing to fail), with %resource = r
 */
const failing = (id: string, r: object) =>
  sdFor(id)
    .snapshot!.element.flatMap((el) => (el.constraint ?? []).filter((c) => c.key.startsWith('ccm-')).map((c) => ({ rel: el.path.split('.').slice(1).join('.'), c })))
    .filter(({ rel, c }) => (fhirpath.evaluate(r, rel ? `${rel}.all(${c.expression})` : c.expression!, { resource: r }, r4) as unknown[])[0] !== true)
    .map(({ c }) => c.key);

t.test('applies-when picks the resources each profile is for', async (t) => {
  const encounters = exampleOf('Encounter');
  t.same(encounters.map((e) => appliesTo('ccm-time-entry', e)), [false, true, true, true], 'the initiating visit is not a time entry');
  t.ok(exampleOf('Consent').every((c) => appliesTo('ccm-consent', c)));
  t.ok(exampleOf('CarePlan').every((c) => appliesTo('ccm-care-plan', c)));
  t.ok(exampleOf('Condition').every((c) => appliesTo('ccm-chronic-condition', c)));
  t.notOk(appliesTo('ccm-community-referral', { resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/x' } } ));
});

t.test('constraints pass on the example and fail on broken resources', async (t) => {
  for (const [id, type] of [['ccm-time-entry', 'Encounter'], ['ccm-consent', 'Consent'], ['ccm-care-plan', 'CarePlan'], ['ccm-chronic-condition', 'Condition']] as const) {
    for (const r of exampleOf(type).filter((x) => appliesTo(id, x))) t.same(failing(id, r), [], `${id} on the example`);
  }
  const entry = exampleOf('Encounter')[1] as Encounter;
  t.same(failing('ccm-time-entry', { ...entry, length: undefined }), ['ccm-te-1'], 'no length and no period.end');
  t.same(failing('ccm-time-entry', { ...entry, length: undefined, period: { start: '2025-03-04T09:40:00Z', end: '2025-03-04T10:00:00Z' } }), [], 'period.start and period.end');
  t.same(failing('ccm-time-entry', { ...entry, length: undefined, period: { start: '2025-03-04', end: '2025-03-04T10:00:00Z' } }), ['ccm-te-1'], 'a date-only end of the period says nothing about minutes');
  t.same(failing('ccm-time-entry', { ...entry, period: { start: '2025-03' } }), ['ccm-te-3'], 'a month is not a date');
  t.same(failing('ccm-time-entry', { ...entry, length: { value: 20, unit: 'minutes' } }), ['ccm-te-2'], 'no code, and a unit other than min or h');
  t.same(failing('ccm-time-entry', { ...entry, length: { value: 20, unit: 'min' } }), [], 'no code, unit min: read as the engine reads it');
  t.same(failing('ccm-time-entry', { ...entry, length: { value: 20, code: 's', system: 'http://unitsofmeasure.org' } }), ['ccm-te-2']);
  t.same(failing('ccm-time-entry', { ...entry, length: { value: 1, code: 'h', system: 'http://unitsofmeasure.org' } }), []);
  t.same(failing('ccm-time-entry', { ...entry, period: { end: '2025-03-04T10:00:00Z' } }), ['ccm-te-3'], 'no date');
  t.same(failing('ccm-time-entry', { ...entry, period: undefined }), [], 'no period at all: the 1..1 cardinality of period says it');
  t.same(failing('ccm-time-entry', { ...entry, participant: [{ individual: { reference: 'Practitioner/x' } }] }), ['ccm-te-5'], 'no typed performer');
  const consent = exampleOf('Consent')[0];
  t.same(failing('ccm-consent', { ...consent, status: 'inactive' }), ['ccm-con-2'], 'stopped without an end (warning)');
  t.same(failing('ccm-consent', { ...consent, dateTime: '2025-02' }), ['ccm-con-3'], 'dated only to a month');
  const plan = exampleOf('CarePlan')[0];
  t.same(failing('ccm-care-plan', { ...plan, intent: 'proposal' }), ['ccm-cp-2']);
  t.same(failing('ccm-care-plan', { ...plan, created: '2025' }), ['ccm-cp-3'], 'dated only to a year');
  const cond = exampleOf('Condition')[0];
  t.same(failing('ccm-chronic-condition', { ...cond, clinicalStatus: undefined }), ['ccm-cc-1'], 'no clinical status (warning)');
  t.same(failing('ccm-chronic-condition', { ...cond, onsetString: 'long ago', onsetDateTime: undefined }), ['ccm-cc-2']);
  const mdm = sdFor('mdm-complexity').snapshot!.element[0].constraint!.find((c) => c.key === 'ccm-mdm-1')!;
  // evaluated in its place on the Encounter, where value[x] resolves to valueCode
  const onEntry = (code: string) =>
    eval1({ ...entry, extension: [{ url: 'https://ccm-fhir.org/fhir/StructureDefinition/mdm-complexity', valueCode: code }] }, `extension.where(url = 'https://ccm-fhir.org/fhir/StructureDefinition/mdm-complexity').all(${mdm.expression})`);
  t.same(onEntry('moderate'), [true]);
  t.same(onEntry('severe'), [false]);
});
