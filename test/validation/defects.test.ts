import { join } from 'node:path';
import t from 'tap';
import type { ElementDefinition, OperationOutcomeIssue, StructureDefinition } from 'fhir/r4.js';
import { createValidator, rerootIssues } from '../../src/validation/validator.js';
import { testDataDir } from './test-data.js';

const validator = await createValidator();

function errorsAt(issues: OperationOutcomeIssue[]): string[] {
  return issues.filter((i) => i.severity === 'error' || i.severity === 'fatal').map((i) => i.expression?.[0] ?? '');
}

const patient = { resourceType: 'Patient', id: 'p1', gender: 'female', birthDate: '1970-01-01' };
const condition = {
  resourceType: 'Condition',
  id: 'c1',
  clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
  code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006' }] },
  subject: { reference: 'Patient/p1' },
};

t.test('valid baselines have no errors', async (t) => {
  t.same(errorsAt(validator.validate(patient)), []);
  t.same(errorsAt(validator.validate(condition)), []);
  for (const leap of ['2020-02-29', '2000-02-29', '2024-02-28', '2019-02-28']) t.same(errorsAt(validator.validate({ ...patient, birthDate: leap })), [], `${leap} exists`);
  // A contained resource names its container with '#' (dom-3's other way of being referenced; ref-1 allows it).
  const withProvenance = {
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'x' },
    valueString: 'x',
    contained: [{ resourceType: 'Provenance', id: 'pv', target: [{ reference: '#' }], recorded: '2020-01-01T00:00:00Z', agent: [{ who: { display: 'x' } }] }],
  };
  t.same(errorsAt(validator.validate(withProvenance)), [], "'#' in a contained resource is its container");
  t.same(errorsAt(validator.validate({ ...condition, asserter: { type: 'Patient', reference: 'Patient/p1' } })), [], 'a Reference.type that agrees');
  t.same(errorsAt(validator.validate({ ...condition, asserter: { type: 'Patient', identifier: { value: 'x' } } })), [], 'a type beside an identifier only');
  t.same(errorsAt(validator.validate({ ...condition, asserter: { reference: '#' } })), ['Condition.asserter'], "'#' outside a contained resource names nothing");
  const noSystem = validator.validate({ ...condition, clinicalStatus: { coding: [{ code: 'active' }, { system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] } });
  t.same(errorsAt(noSystem), [], 'one coding with its system is enough');
  t.ok(noSystem.some((i) => i.severity === 'warning' && /no system/.test(i.diagnostics ?? '')), 'the one without is warned about');
  t.same(errorsAt(validator.validate({ ...patient, identifier: [{ system: 'urn:oid:1.2.3', value: 'a' }, { system: 'http://hospital.example/mrn', value: '1' }, { value: 'no system' }] })), [], 'identifier systems that are absolute URIs, or none');
  const entryAt = (fullUrl: string) => ({ resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl, resource: patient }] });
  t.same(errorsAt(validator.validate(entryAt('http://example.org/fhir/Patient/p1'))), [], 'a RESTful fullUrl with the resource\'s type and id');
  t.same(errorsAt(validator.validate(entryAt('urn:uuid:0b0a4d0e-8c1d-4b5a-9a57-3f2f1f6a2d11'))), [], 'a urn:uuid fullUrl names no id');
  t.same(errorsAt(validator.validate(entryAt('http://example.org/patients/p1.html'))), [], 'an absolute URL that is no RESTful one');
  t.same(errorsAt(validator.validate(entryAt('http://example.org/fhir/Thing/p2'))), [], 'Thing is no resource type');
});

const cases: { name: string; resource: unknown; expect: string; code?: string }[] = [
  { name: 'unknown element', resource: { ...patient, foo: 1 }, expect: 'Patient.foo', code: 'structure' },
  { name: 'missing required primitive (CarePlan.status)', resource: { resourceType: 'CarePlan', intent: 'plan', subject: { reference: 'Patient/p1' } }, expect: 'CarePlan.status', code: 'required' },
  { name: 'impossible date 2020-02-30', resource: { ...patient, birthDate: '2020-02-30' }, expect: 'Patient.birthDate', code: 'value' },
  { name: '29 February of a common year (2019)', resource: { ...patient, birthDate: '2019-02-29' }, expect: 'Patient.birthDate', code: 'value' },
  { name: '29 February 1900 (no leap year: a century not divisible by 400)', resource: { ...patient, deceasedDateTime: '1900-02-29T10:00:00Z' }, expect: 'Patient.deceased.ofType(dateTime)', code: 'value' },
  { name: 'Reference.type contradicting the reference', resource: { ...condition, asserter: { type: 'Practitioner', reference: 'Patient/p1' } }, expect: 'Condition.asserter', code: 'invalid' },
  { name: 'Reference.type as a canonical, contradicting', resource: { ...condition, asserter: { type: 'http://hl7.org/fhir/StructureDefinition/Practitioner', reference: 'http://example.org/fhir/Patient/p1' } }, expect: 'Condition.asserter', code: 'invalid' },
  { name: 'a relative Coding.system', resource: { ...condition, code: { coding: [{ system: 'LOINC', code: '1234-5' }] } }, expect: 'Condition.code.coding[0].system', code: 'invalid' },
  { name: 'a relative Identifier.system', resource: { ...patient, identifier: [{ system: 'urn:oid:1.2.3', value: 'a' }, { system: 'MRN', value: '1' }] }, expect: 'Patient.identifier[1].system', code: 'code-invalid' },
  { name: 'a relative Identifier.system, in a Reference', resource: { ...condition, asserter: { identifier: { system: 'NPI', value: '1' } } }, expect: 'Condition.asserter.identifier.system', code: 'code-invalid' },
  { name: '31 April', resource: { ...condition, recordedDate: '2021-04-31T08:00:00Z' }, expect: 'Condition.recordedDate', code: 'value' },
  { name: 'two value[x]', resource: { ...condition, onsetDateTime: '2020-01-01', onsetString: 'spring' }, expect: 'Condition.onset', code: 'structure' },
  { name: 'empty array', resource: { ...patient, name: [] }, expect: 'Patient.name', code: 'structure' },
  { name: 'empty object', resource: { ...patient, maritalStatus: {} }, expect: 'Patient.maritalStatus', code: 'structure' },
  { name: 'empty string', resource: { ...patient, name: [{ family: '' }] }, expect: 'Patient.name[0].family', code: 'value' },
  { name: 'bad id', resource: { ...patient, id: 'bad_id!' }, expect: 'Patient.id', code: 'value' },
  { name: 'wrong JSON type (array expected)', resource: { ...patient, name: { family: 'x' } }, expect: 'Patient.name', code: 'structure' },
  { name: 'bad primitive extension', resource: { ...patient, _birthDate: { extension: [{ url: 'http://example.org/x', valueBoolean: 'yes' }] } }, expect: 'Patient.birthDate.extension[0].value.ofType(boolean)' },
  { name: 'bad decimal type', resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: '12' } }, expect: 'Observation.value.ofType(Quantity).value' },
  { name: 'per-1 violation', resource: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, period: { start: '2020-02-01', end: '2020-01-01' } }, expect: 'Encounter.period', code: 'invariant' },
  { name: 'per-1: start a date, end a dateTime of the same day (undecidable, as Java: error)', resource: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, period: { start: '2023-06-21', end: '2023-06-21T06:20:00Z' } }, expect: 'Encounter.period', code: 'invariant' },
  { name: 'per-1: two dateTimes in the same zone, end first', resource: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, period: { start: '2023-06-21T08:00:00-04:00', end: '2023-06-21T06:20:00-04:00' } }, expect: 'Encounter.period', code: 'invariant' },
  { name: 'per-1: two dateTimes in different zones, end first', resource: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, period: { start: '2023-06-21T08:00:00-04:00', end: '2023-06-21T11:20:00Z' } }, expect: 'Encounter.period', code: 'invariant' },
  { name: 'obs-6: value and dataAbsentReason (after a valid Observation was seen)', resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueString: 'a', dataAbsentReason: { text: 'no' } }, expect: 'Observation', code: 'invariant' },
  { name: 'obs-7: a component with the code of the Observation next to a value', resource: { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '1-8' }] }, valueString: 'a', component: [{ code: { coding: [{ system: 'http://loinc.org', code: '1-8' }] }, valueString: 'b' }] }, expect: 'Observation', code: 'invariant' },
  { name: 'con-4 violation (abatement with active status)', resource: { ...condition, abatementDateTime: '2021-01-01' }, expect: 'Condition', code: 'invariant' },
  { name: 'bad required-binding code', resource: { ...condition, clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'bogus' }] } }, expect: 'Condition.clinicalStatus', code: 'code-invalid' },
  { name: 'bad required code (Patient.gender)', resource: { ...patient, gender: 'f' }, expect: 'Patient.gender', code: 'code-invalid' },
  { name: 'reference to a wrong target type', resource: { ...condition, subject: { reference: 'Practitioner/x' } }, expect: 'Condition.subject', code: 'structure' },
  { name: 'contained resource validated as its own type', resource: { ...condition, contained: [{ resourceType: 'Patient', id: 'x', gender: 'nope' }], subject: { reference: '#x' } }, expect: 'Condition.contained[0].gender' },
  { name: 'ref-1: local reference without contained resource', resource: { ...condition, subject: { reference: '#nothere' } }, expect: 'Condition.subject', code: 'invariant' },
  { name: 'a coding without a system under a required binding (it has no defined meaning)', resource: { ...condition, clinicalStatus: { coding: [{ code: 'active' }] } }, expect: 'Condition.clinicalStatus', code: 'code-invalid' },
  { name: 'a RESTful fullUrl naming another id', resource: { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'http://example.org/fhir/Patient/p2', resource: patient }] }, expect: 'Bundle.entry[0].fullUrl', code: 'invalid' },
  { name: 'a RESTful fullUrl naming another type', resource: { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'http://example.org/fhir/Condition/p1', resource: patient }] }, expect: 'Bundle.entry[0].fullUrl', code: 'invalid' },
  { name: 'a versioned fullUrl (it is version-independent)', resource: { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'http://example.org/fhir/Patient/p1/_history/2', resource: patient }] }, expect: 'Bundle.entry[0].fullUrl', code: 'invalid' },
  { name: 'a RESTful fullUrl for a resource without an id', resource: { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'http://example.org/fhir/Patient/p1', resource: { resourceType: 'Patient' } }] }, expect: 'Bundle.entry[0].fullUrl', code: 'invalid' },
  { name: 'bundle entry validated as its own type', resource: { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'urn:uuid:1', resource: { ...patient, birthDate: '1970-13-01' } }] }, expect: 'Bundle.entry[0].resource.birthDate' },
  { name: 'Parameters.parameter.resource validated', resource: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { ...patient, foo: true } }] }, expect: 'Parameters.parameter[0].resource.foo' },
  { name: 'a string over 1 MB (datatypes.html#string)', resource: { ...patient, name: [{ family: 'x'.repeat(1024 * 1024 + 1) }] }, expect: 'Patient.name[0].family', code: 'value' },
  { name: 'a markdown over 1 MB (derived from string)', resource: { ...condition, note: [{ text: 'é'.repeat(600 * 1024) }] }, expect: 'Condition.note[0].text', code: 'value' },
  { name: 'an element id over 1 MB', resource: { ...patient, name: [{ id: 'x'.repeat(1024 * 1024 + 1), family: 'x' }] }, expect: 'Patient.name[0].id', code: 'value' },
  { name: 'narrative with script (txt-1)', resource: { ...patient, text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><script>x</script></div>' } }, expect: 'Patient.text.div', code: 'invariant' },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const issues = validator.validate(c.resource);
    const errors = issues.filter((i) => i.severity === 'error');
    const hit = errors.find((e) => e.expression?.[0] === c.expect);
    t.ok(hit, `error at ${c.expect} (got ${errorsAt(issues).join(', ') || 'none'})`);
    if (hit && c.code) t.equal(hit.code, c.code, 'issue code');
    if (hit) t.match(hit.diagnostics, /\S/, 'diagnostics say what is wrong');
  });
}

t.test('per-1: mixed precision that can be decided passes', async (t) => {
  for (const period of [
    { start: '2023-06-21T06:20:00-04:00', end: '2023-06-21T10:20:00Z' },
    { start: '2023-06-21T06:20:00-04:00', end: '2023-06-21T06:20:00-04:00' },
    { start: '2023-06-20', end: '2023-06-21T06:20:00Z' },
    { start: '2023-06-21T06:20:00Z', end: '2023-06-22' },
    { start: '2023-06', end: '2023-07-01T00:00:00Z' },
    { start: '2023-06-21' },
  ]) {
    const issues = validator.validate({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, period });
    t.same(errorsAt(issues), [], JSON.stringify(period));
  }
});

t.test('base64Binary has no 1 MB cap (datatypes.html#base64Binary: "no specified upper limit")', async (t) => {
  const data = Buffer.alloc(3 * 1024 * 1024, 7).toString('base64');
  t.same(errorsAt(validator.validate({ resourceType: 'Binary', contentType: 'application/pdf', data })), []);
  const doc = { resourceType: 'DocumentReference', status: 'current', content: [{ attachment: { contentType: 'application/pdf', data } }] };
  t.same(errorsAt(validator.validate(doc)), []);
});

t.test('obs-6 and obs-7 pass on valid Observations', async (t) => {
  const loinc = (code: string) => ({ coding: [{ system: 'http://loinc.org', code }] });
  for (const obs of [
    { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueString: 'a' },
    { resourceType: 'Observation', status: 'final', code: { text: 'x' }, dataAbsentReason: { text: 'no' } },
    { resourceType: 'Observation', status: 'final', code: loinc('1-8'), component: [{ code: loinc('1-8'), valueString: 'b' }] },
    { resourceType: 'Observation', status: 'final', code: loinc('1-8'), valueString: 'a', component: [{ code: loinc('2-6'), valueString: 'b' }] },
  ]) {
    t.same(errorsAt(validator.validate(obs)), [], JSON.stringify(obs));
  }
});

t.test('constraint results reused by input: only what the expression reads decides', async (t) => {
  const status = (code: string) => ({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code }] });
  // con-4 `abatement.empty() or clinicalStatus.coding.where(...)`: abatement by presence, clinicalStatus by value
  const run = (clinical: string, abatementDateTime?: string) =>
    errorsAt(validator.validate({ ...condition, clinicalStatus: status(clinical), ...(abatementDateTime ? { abatementDateTime } : {}) }));
  t.same(run('resolved', '2021-01-01'), [], 'resolved with abatement');
  t.same(run('resolved', '2022-02-02'), [], 'resolved with another abatement');
  t.same(run('active', '2021-01-01'), ['Condition'], 'active with abatement');
  t.same(run('active', '2023-03-03'), ['Condition'], 'active with another abatement');
  t.same(run('active'), [], 'active without abatement');
  // obs-6 by presence, a string value read by its presence only
  const obs = (extra: Record<string, unknown>) => errorsAt(validator.validate({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, ...extra }));
  t.same(obs({ valueString: 'a' }), []);
  t.same(obs({ _valueString: { extension: [{ url: 'http://example.org/x', valueBoolean: true }] }, dataAbsentReason: { text: 'no' } }), ['Observation'], 'a value with only an extension is a value');
});

t.test('issue paths can be re-rooted under a Bundle entry', async (t) => {
  const issues = rerootIssues(validator.validate({ ...patient, foo: 1 }), 'Bundle.entry[3].resource');
  t.same(errorsAt(issues), ['Bundle.entry[3].resource.foo']);
  t.ok(issues.some((i) => i.severity === 'warning' && i.expression?.[0] === 'Bundle.entry[3].resource'), 'warnings re-rooted too (dom-6)');
});

/** A profile built from the base Patient snapshot, with the constraints under test added as data. */
function testProfile(): StructureDefinition {
  const base = (validator as unknown as { registry: { baseByType: Map<string, StructureDefinition> } }).registry.baseByType.get('Patient')!;
  const elements: ElementDefinition[] = base.snapshot!.element.map((e) => ({ ...e }));
  const at = (path: string) => elements.findIndex((e) => e.path === path);
  const gender = elements[at('Patient.gender')];
  gender.fixedCode = 'female';
  const identifier = elements[at('Patient.identifier')];
  identifier.slicing = { discriminator: [{ type: 'value', path: 'system' }], rules: 'closed' };
  const mrnSlice: ElementDefinition[] = [
    { id: 'Patient.identifier:mrn', path: 'Patient.identifier', sliceName: 'mrn', min: 1, max: '1', type: [{ code: 'Identifier' }], base: { path: 'Patient.identifier', min: 0, max: '*' } },
    { id: 'Patient.identifier:mrn.system', path: 'Patient.identifier.system', min: 1, max: '1', type: [{ code: 'uri' }], fixedUri: 'urn:mrn', base: { path: 'Identifier.system', min: 0, max: '1' } },
  ];
  elements.splice(at('Patient.identifier') + 1, 0, ...mrnSlice);
  const nameFamily: ElementDefinition = { id: 'Patient.name.family', path: 'Patient.name.family', min: 0, max: '1', type: [{ code: 'string' }], maxLength: 5, base: { path: 'HumanName.family', min: 0, max: '1' } };
  elements.splice(at('Patient.name') + 1, 0, nameFamily);
  const birth = elements[at('Patient.birthDate')];
  birth.min = 1;
  return {
    resourceType: 'StructureDefinition',
    url: 'http://example.org/StructureDefinition/test-patient',
    name: 'TestPatient',
    status: 'active',
    kind: 'resource',
    abstract: false,
    type: 'Patient',
    baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient',
    derivation: 'constraint',
    snapshot: { element: elements },
  };
}

t.test('profile constraints from a snapshot', async (t) => {
  const profiled = validator.extend([testProfile()]);
  const url = 'http://example.org/StructureDefinition/test-patient';
  const good = { ...patient, meta: { profile: [url] }, identifier: [{ system: 'urn:mrn', value: '1' }], name: [{ family: 'Lee' }] };
  t.same(errorsAt(profiled.validate(good)), [], 'conforming instance');
  t.ok(profiled.knowsProfile(url));
  t.ok(errorsAt(profiled.validate({ ...good, gender: 'male' })).includes('Patient.gender'), 'wrong fixed value');
  t.ok(errorsAt(profiled.validate({ ...good, identifier: [{ system: 'urn:mrn', value: '1' }, { system: 'urn:other', value: '2' }] })).includes('Patient.identifier[1]'), 'closed slicing violation');
  t.ok(errorsAt(profiled.validate({ ...good, identifier: [{ system: 'urn:other', value: '2' }] })).some((e) => e.startsWith('Patient.identifier')), 'missing required slice');
  t.ok(errorsAt(profiled.validate({ ...good, name: [{ family: 'Longname' }] })).includes('Patient.name[0].family'), 'maxLength');
  const { birthDate: _b, ...noBirth } = good;
  t.ok(errorsAt(profiled.validate(noBirth)).includes('Patient.birthDate'), 'cardinality narrowed by the profile');
  t.same(errorsAt(profiled.validate({ ...patient, gender: 'male' })), [], 'a profile applies only when claimed');
  t.ok(errorsAt(profiled.validate({ ...patient, gender: 'male' }, { profiles: [url] })).includes('Patient.gender'), 'explicitly requested profile');
});

t.test('unknown profiles: warning by default, error when strict', async (t) => {
  const r = { ...patient, meta: { profile: ['http://example.org/unknown'] } };
  const lenient = validator.validate(r);
  t.ok(lenient.some((i) => i.severity === 'warning' && i.code === 'not-found'));
  t.same(errorsAt(lenient), []);
  const strict = await createValidator({ strictProfiles: true });
  t.ok(errorsAt(strict.validate(r)).includes('Patient.meta.profile'));
});

const data = testDataDir();
t.test('US Core packages', { skip: data ? false : 'FHIR_TEST_DATA not found' }, async (t) => {
  const dir = join(data as string, 'us-core');
  const started = performance.now();
  const us = await createValidator({ packagePaths: [join(dir, 'us_core_610.tgz'), join(dir, 'us_core_700.tgz')] });
  t.comment(`validator with R4 + US Core 6.1.0 + 7.0.0 built in ${Math.round(performance.now() - started)} ms`);
  const profile = 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-condition-problems-health-concerns';
  t.ok(us.knowsProfile(profile));
  t.ok(us.knowsProfile(`${profile}|6.1.0`), 'versioned canonical');
  const claimed = { ...condition, meta: { profile: [profile] } };
  const missing = errorsAt(us.validate(claimed));
  t.ok(missing.includes('Condition.category'), `Condition without category refused (${missing.join(', ')})`);
  const withCategory = {
    ...claimed,
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' }] }],
  };
  t.same(errorsAt(us.validate(withCategory)), [], 'with a US Core category it conforms');
  const wrongCategory = { ...withCategory, category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'encounter-diagnosis' }] }] };
  t.ok(errorsAt(us.validate(wrongCategory)).some((e) => e.startsWith('Condition.category')), 'a category outside the required slice value set');
  const birthsex = {
    ...patient,
    meta: { profile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient'] },
    identifier: [{ system: 'urn:x', value: '1' }],
    name: [{ family: 'Lee' }],
    extension: [{ url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex', valueCoding: { code: 'F' } }],
  };
  t.ok(errorsAt(us.validate(birthsex)).some((e) => e.startsWith('Patient.extension[0]')), 'extension with a value type its definition does not allow');
  t.ok(us.conformanceResources().some((r) => r.resourceType === 'SearchParameter'), 'SearchParameters handed to search');
});

t.test('an extension is allowed only where its definition\'s contexts say (extensibility.html#context)', async (t) => {
  const birthPlace = { url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace', valueAddress: { city: 'Lyon' } };
  t.same(errorsAt(validator.validate({ ...patient, extension: [birthPlace] })), [], 'patient-birthPlace on a Patient');
  t.same(errorsAt(validator.validate({ ...condition, extension: [birthPlace] })), ['Condition.extension[0]'], 'and not on a Condition (context Patient)');
  const ownPrefix = { url: 'http://hl7.org/fhir/StructureDefinition/humanname-own-prefix', valueString: 'van' };
  t.same(errorsAt(validator.validate({ ...patient, name: [{ family: 'Dijk', _family: { extension: [ownPrefix] } }] })), [], 'humanname-own-prefix on HumanName.family (a primitive)');
  t.same(errorsAt(validator.validate({ ...patient, name: [{ family: 'Dijk', extension: [ownPrefix] }] })), ['Patient.name[0].extension[0]'], 'and not on the HumanName itself');
  const absent = { url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' };
  t.same(errorsAt(validator.validate({ ...patient, _birthDate: { extension: [absent] } })), [], 'data-absent-reason (context Element) anywhere');
  t.same(errorsAt(validator.validate({ ...condition, contained: [{ ...patient, extension: [birthPlace] }], subject: { reference: '#p1' } })), [], 'in a contained Patient, named from that Patient');

  // Contexts of every kind, on extensions defined here.
  const extensionSd = (url: string, context: Array<{ type: string; expression: string }>) => ({
    resourceType: 'StructureDefinition',
    url,
    name: url.split('/').pop(),
    status: 'active',
    kind: 'complex-type',
    abstract: false,
    type: 'Extension',
    baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Extension',
    derivation: 'constraint',
    context,
    differential: { element: [{ id: 'Extension', path: 'Extension' }, { id: 'Extension.url', path: 'Extension.url', fixedUri: url }] },
  });
  const v = validator.extend([
    extensionSd('http://example.org/ext/outer', [{ type: 'element', expression: 'Patient' }]),
    extensionSd('http://example.org/ext/inner', [{ type: 'extension', expression: 'http://example.org/ext/outer' }]),
    extensionSd('http://example.org/ext/on-contact', [{ type: 'element', expression: 'Patient.contact' }]),
    extensionSd('http://example.org/ext/on-quantity', [{ type: 'element', expression: 'Quantity' }]),
    extensionSd('http://example.org/ext/on-onset', [{ type: 'element', expression: 'Condition.onset[x]' }]),
    extensionSd('http://example.org/ext/by-fhirpath', [{ type: 'fhirpath', expression: 'Condition' }]),
    extensionSd('http://example.org/ext/on-slice', [{ type: 'element', expression: 'Patient.contact:emergency' }]),
    extensionSd('http://example.org/ext/on-profile-element', [{ type: 'element', expression: 'http://example.org/StructureDefinition/my-patient#Patient.name' }]),
  ] as never);
  const ext = (name: string, more: object = {}) => ({ url: `http://example.org/ext/${name}`, valueString: 'x', ...more });
  const inner = ext('inner');
  t.same(errorsAt(v.validate({ ...patient, extension: [{ url: 'http://example.org/ext/outer', extension: [inner] }] })), [], 'an extension context: inside that extension');
  t.same(errorsAt(v.validate({ ...patient, extension: [inner] })), ['Patient.extension[0]'], 'and not on the resource');
  t.same(errorsAt(v.validate({ ...patient, contact: [{ name: { family: 'x' }, extension: [ext('on-contact')] }] })), [], 'a backbone element by its path');
  t.same(errorsAt(v.validate({ ...patient, extension: [ext('on-contact')] })), ['Patient.extension[0]']);
  t.same(errorsAt(v.validate({ ...condition, onsetAge: { value: 40, unit: 'a', system: 'http://unitsofmeasure.org', code: 'a', extension: [ext('on-quantity')] } })), [], 'a data type: an Age is a Quantity');
  t.same(errorsAt(v.validate({ ...condition, onsetAge: { value: 40, unit: 'a', system: 'http://unitsofmeasure.org', code: 'a', extension: [ext('on-onset')] } })), [], 'a choice element by its path with [x]');
  t.same(errorsAt(v.validate({ ...condition, onsetString: 'spring', _onsetString: { extension: [ext('on-onset')] } })), [], 'and on its primitive form');
  t.same(errorsAt(v.validate({ ...condition, code: { text: 'x', extension: [ext('on-quantity')] } })), ['Condition.code.extension[0]'], 'a CodeableConcept is no Quantity');
  t.same(errorsAt(v.validate({ ...patient, modifierExtension: [ext('by-fhirpath')] })), [], 'a fhirpath context is not judged here');
  // extension-context-type: an element id, with slice names, or [url]#[id] for a profile's element.
  t.same(errorsAt(v.validate({ ...patient, contact: [{ name: { family: 'x' }, extension: [ext('on-slice')] }] })), [], 'an element id with a slice name: the element it slices');
  t.same(errorsAt(v.validate({ ...patient, extension: [ext('on-slice')] })), ['Patient.extension[0]']);
  t.same(errorsAt(v.validate({ ...patient, name: [{ family: 'x', extension: [ext('on-profile-element')] }] })), [], '[url]#[element id]: that element');
  t.same(errorsAt(v.validate({ ...patient, extension: [ext('on-profile-element')] })), ['Patient.extension[0]']);
});
