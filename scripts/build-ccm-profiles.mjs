#!/usr/bin/env node
// Generates the CCM conformance resources in profiles/ (reproducible data, never hand-edited):
//   node scripts/build-ccm-profiles.mjs
// StructureDefinition snapshots are built from the official R4 base definitions in
// node_modules/hl7.fhir.r4.examples by applying each profile's differential, so every
// generated snapshot element still carries the base definition's text, bindings and constraints.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// An output folder may be given (tests rebuild into a temporary folder and compare).
const out = process.argv[2] ? resolve(process.argv[2]) : join(root, 'profiles');
mkdirSync(out, { recursive: true });
const r4 = join(root, 'node_modules', 'hl7.fhir.r4.examples');

const BASE = 'https://ccm-fhir.org/fhir';
const CM = `${BASE}/CodeSystem/care-management`;
const CATEGORY_CS = `${BASE}/CodeSystem/chronic-condition-category`;
const ICD10CM = 'http://hl7.org/fhir/sid/icd-10-cm';
const SNOMED = 'http://snomed.info/sct';
const APPLIES_WHEN = `${BASE}/StructureDefinition/applies-when`;
const DATE = '2026-01-01';
const PUBLISHER = 'ccm-fhir-server project';
const VERSION = '1.0.0';

const write = (name, resource) => {
  writeFileSync(join(out, `${name}.json`), JSON.stringify(resource, null, 2) + '\n');
};
const common = (id, name, title, description) => ({
  id,
  version: VERSION,
  name,
  title,
  status: 'active',
  date: DATE,
  publisher: PUBLISHER,
  description,
});
const cmHas = (code) => `coding.where(system='${CM}' and code='${code}').exists()`;

// ---------------------------------------------------------------------------------------------
// CodeSystem care-management (contract: "CM codes")

const cmConcepts = [
  ['care-management-time', 'Care-management time entry', 'An Encounter that records minutes of CCM/PCM work (one time entry, EP1).'],
  ['clinical-staff', 'Clinical staff', 'Participant type: clinical staff (CPT sense) working under the billing practitioner (R19).'],
  ['billing-practitioner', 'Billing practitioner', 'Participant type: the physician or NP/PA/CNS/CNM who bills the month (R6); on a staff entry, the practitioner who directs the work.'],
  ['ccm-consent', 'CCM consent', 'Consent category: the documented CCM/PCM consent (R7-R10).'],
  ['ccm-care-plan', 'CCM care plan', 'CarePlan category: the comprehensive (CCM) or disease-specific (PCM) care plan (R15-R17).'],
  ['care-coordination', 'Care coordination', 'Time-entry activity: coordination with other practitioners, agencies and services.'],
  ['medication-management', 'Medication management', 'Time-entry activity: medication reconciliation, adherence and changes.'],
  ['patient-education', 'Patient education', 'Time-entry activity: education of the patient or caregiver.'],
  ['care-plan-review', 'Care plan review', 'Time-entry activity: establishing, reviewing or revising the care plan.'],
  ['community-referral', 'Community referral', 'Time-entry activity and ServiceRequest category: referral to home- and community-based services.'],
  ['symptom-monitoring', 'Symptom monitoring', 'Time-entry activity: monitoring symptoms and condition status.'],
  ['caregiver-support', 'Caregiver support', 'Time-entry activity: assessment and support of the caregiver.'],
  ['other', 'Other', 'Time-entry activity: other care-management work.'],
];
write('CodeSystem-care-management', {
  resourceType: 'CodeSystem',
  ...common('care-management', 'CareManagement', 'Care management', 'Codes the CCM engine reads from stored resources: the time-entry type, participant roles, consent and care-plan categories, and time-entry activities (ccm-fhir-contract.md).'),
  url: CM,
  caseSensitive: true,
  content: 'complete',
  count: cmConcepts.length,
  concept: cmConcepts.map(([code, display, definition]) => ({ code, display, definition })),
});
write('ValueSet-care-management-activity', {
  resourceType: 'ValueSet',
  ...common('care-management-activity', 'CareManagementActivity', 'Care-management time-entry activities', 'Activity codes a time entry may carry in Encounter.type beside care-management-time.'),
  url: `${BASE}/ValueSet/care-management-activity`,
  compose: { include: [{ system: CM, concept: cmConcepts.slice(5).map(([code, display]) => ({ code, display })) }] },
});

// ---------------------------------------------------------------------------------------------
// MDM complexity (extension value set)

const mdm = [
  ['low', 'Low', 'Medical decision making of low complexity.'],
  ['moderate', 'Moderate', 'Medical decision making of moderate complexity (R4, R29).'],
  ['high', 'High', 'Medical decision making of high complexity (R4, R29).'],
];
write('CodeSystem-mdm-complexity', {
  resourceType: 'CodeSystem',
  ...common('mdm-complexity', 'MdmComplexity', 'MDM complexity', 'E/M medical decision-making levels used by the mdm-complexity extension (R29, EP8).'),
  url: `${BASE}/CodeSystem/mdm-complexity`,
  caseSensitive: true,
  content: 'complete',
  count: mdm.length,
  concept: mdm.map(([code, display, definition]) => ({ code, display, definition })),
});
write('ValueSet-mdm-complexity', {
  resourceType: 'ValueSet',
  ...common('mdm-complexity', 'MdmComplexity', 'MDM complexity', 'low | moderate | high.'),
  url: `${BASE}/ValueSet/mdm-complexity`,
  compose: { include: [{ system: `${BASE}/CodeSystem/mdm-complexity`, concept: mdm.map(([code, display]) => ({ code, display })) }] },
});

// ---------------------------------------------------------------------------------------------
// Chronic condition categories (ccm-billing-rules.md §12): CodeSystem + ValueSet + ConceptMap

const categoriesCsv = `id,label,ccw,counts,icd10cm_prefixes,snomed_ct
hypertension,Hypertension,chronic,Y,I10;I11;I12;I13;I15,38341003;59621000
hyperlipidemia,Hyperlipidemia,chronic,Y,E78.0;E78.1;E78.2;E78.3;E78.4;E78.5,55822004;302870006
diabetes,Diabetes mellitus,chronic,Y,E08;E09;E10;E11;E13,73211009;44054006;46635009
ischemic_heart_disease,Ischemic heart disease,chronic,Y,I20;I24;I25,414545008;53741008;399211009
heart_failure,Heart failure and non-ischemic heart disease,chronic,Y,I50;I11.0;I13.0;I13.2;I42;I43,84114007;42343007;88805009
atrial_fibrillation,Atrial fibrillation and flutter,chronic,Y,I48,49436004;5370000
ckd,Chronic kidney disease,chronic,Y,N18,709044004;431855005;431856006;433144002;700378005;431857002;433146000;46177005
copd,COPD and bronchiectasis,chronic,Y,J41;J42;J43;J44;J47,13645005;185086009;87433001
asthma,Asthma,chronic,Y,J45,195967001;233678006
adrd,Alzheimer's disease and related dementias,chronic,Y,G30;F01;F02;F03;G31.0;G31.1;G31.83,26929004;52448006
depression,Depression bipolar or other depressive mood disorders,chronic,Y,F32;F33;F34.1;F31,370143000;36923009;35489007;13746004
osteoporosis,Osteoporosis with or without pathological fracture,chronic,Y,M80;M81,64859006
ra_oa,Rheumatoid arthritis / osteoarthritis,chronic,Y,M05;M06;M15;M16;M17;M18;M19,69896004;396275006;239873007
parkinsons,Parkinson's disease and secondary parkinsonism,chronic,Y,G20;G21,49049000
hypothyroidism,Acquired hypothyroidism,chronic,Y,E02;E03.2;E03.8;E03.9;E89.0,40930008
anemia,Anemia,chronic,Y,D50;D51;D52;D53;D55;D56;D58;D59;D60;D61;D62;D63;D64,271737000
bph,Benign prostatic hyperplasia,chronic,Y,N40,266569009
glaucoma,Glaucoma,chronic,Y,H40;H42,?
cancer_breast,Breast cancer,chronic,Y,C50;D05,254837009
cancer_colorectal,Colorectal cancer,chronic,Y,C18;C19;C20;D01.0;D01.1;D01.2,363406005
cancer_lung,Lung cancer,chronic,Y,C34,254637007;254632001
cancer_prostate,Prostate cancer,chronic,Y,C61;D07.5,126906006
cancer_endometrial,Endometrial cancer,chronic,Y,C54.1;C55;D07.0,?
cancer_other,Other malignant neoplasm (not C44 skin),other (approx.),Y,C0;C1;C2;C3;C4;C5;C6;C7;C8;C9,?
stroke_sequelae,Late effects of cerebrovascular disease,chronic,Y,I69,?
hiv_aids,HIV/AIDS,other,Y,B20;Z21,86406008
viral_hepatitis,Chronic viral hepatitis,other,Y,B18,?
liver_cirrhosis,Chronic liver disease and cirrhosis,other,Y,K70.3;K74,?
epilepsy,Epilepsy,other,Y,G40,84757009
multiple_sclerosis,Multiple sclerosis,other,Y,G35,?
schizophrenia,Schizophrenia and other psychotic disorders,other,Y,F20;F25,58214004
anxiety,Anxiety disorders,other,Y,F41,197480006
ptsd,Post-traumatic stress disorder,other,Y,F43.1,47505003
alcohol_use,Alcohol use disorders,other,Y,F10.1;F10.2,?
drug_use,Drug use disorders,other,Y,F11.1;F11.2;F12.1;F12.2;F13.1;F13.2;F14.1;F14.2;F15.1;F15.2;F16.1;F16.2;F18.1;F18.2;F19.1;F19.2,?
obesity,Obesity,other,Y,E66,414916001
pvd,Peripheral vascular disease,other,Y,I70.2;I73.9,?
sickle_cell,Sickle cell disease,other,Y,D57,?
cystic_fibrosis,Cystic fibrosis,other,Y,E84,?
autism,Autism spectrum disorders,other,Y,F84.0,?
chronic_pain,Chronic pain / fibromyalgia,other,Y,G89.2;M79.7,?
acute_mi,Acute myocardial infarction (acute event),chronic,N,I21;I22,22298006
acute_stroke_tia,Acute stroke / TIA (acute event),chronic,N,I63;G45,230690007
hip_pelvic_fracture,Hip/pelvic fracture (acute event),chronic,N,S72.0;S72.1;S72.2;S32.3;S32.4;S32.5;S32.6;S32.8,?
pneumonia,Pneumonia (acute event),chronic,N,J12;J13;J14;J15;J16;J17;J18,233604007
cataract,Cataract (surgically curable),chronic,N,H25;H26;H28,?
skin_nonmelanoma,Non-melanoma skin cancer,other,N,C44,?`;

const categories = categoriesCsv
  .split('\n')
  .slice(1)
  .map((line) => {
    const [id, label, ccw, counts, icd, snomed] = line.split(',');
    return {
      id,
      label,
      ccw,
      counts: counts === 'Y',
      icd: icd.split(';'),
      snomed: snomed === '?' ? [] : snomed.split(';'),
    };
  });

write('CodeSystem-chronic-condition-category', {
  resourceType: 'CodeSystem',
  ...common(
    'chronic-condition-category',
    'ChronicConditionCategory',
    'Chronic condition categories',
    'Engine-default condition categories built on the CMS Chronic Conditions Warehouse categories (ccm-billing-rules.md §12, R2). Not a CMS list: CMS publishes examples only. The counts property is a project default (§14.8) and is overridden by editing ValueSet/chronic-condition-categories-counting.',
  ),
  url: CATEGORY_CS,
  caseSensitive: true,
  content: 'complete',
  count: categories.length,
  property: [
    { code: 'counts', uri: `${CATEGORY_CS}#counts`, description: 'Counts toward R1/R3 by engine default (§12 counts column).', type: 'boolean' },
    { code: 'ccw', uri: `${CATEGORY_CS}#ccw`, description: 'CCW list the category comes from (chronic / other).', type: 'string' },
  ],
  concept: categories.map((c) => ({
    code: c.id,
    display: c.label,
    property: [
      { code: 'counts', valueBoolean: c.counts },
      { code: 'ccw', valueString: c.ccw },
    ],
  })),
});

write('ValueSet-chronic-condition-categories-counting', {
  resourceType: 'ValueSet',
  ...common(
    'chronic-condition-categories-counting',
    'ChronicConditionCategoriesCounting',
    'Chronic condition categories that count toward CCM/PCM',
    'The categories whose conditions count toward R1 (CCM, >= 2) and R3 (PCM, exactly 1) — engine default (§12 counts = Y, EP4). The engine reads this list; remove or add a category here to change what counts.',
  ),
  url: `${BASE}/ValueSet/chronic-condition-categories-counting`,
  compose: { include: [{ system: CATEGORY_CS, concept: categories.filter((c) => c.counts).map((c) => ({ code: c.id, display: c.label })) }] },
});

write('ConceptMap-chronic-condition-category', {
  resourceType: 'ConceptMap',
  ...common(
    'chronic-condition-category',
    'ChronicConditionCategoryMap',
    'Diagnosis codes to chronic condition categories',
    'Maps ICD-10-CM and SNOMED CT codes to the chronic condition categories (ccm-billing-rules.md §12, EP4). ICD-10-CM group: each element code is a code-family PREFIX, matched against the upper-cased code with its dot removed, longest prefix winning (so I11.0 -> heart_failure, I11.9 -> hypertension). SNOMED CT group: exact codes. Codes of any other system, and unmatched codes, are ignored.',
  ),
  url: `${BASE}/ConceptMap/chronic-condition-category`,
  targetUri: `${BASE}/ValueSet/chronic-condition-categories-counting`,
  group: [
    {
      source: ICD10CM,
      target: CATEGORY_CS,
      element: categories.flatMap((c) => c.icd.map((code) => ({ code, target: [{ code: c.id, display: c.label, equivalence: 'wider' }] }))),
    },
    {
      source: SNOMED,
      target: CATEGORY_CS,
      element: categories.flatMap((c) => c.snomed.map((code) => ({ code, target: [{ code: c.id, display: c.label, equivalence: 'wider' }] }))),
    },
  ],
});

// ---------------------------------------------------------------------------------------------
// StructureDefinitions: snapshot = base R4 snapshot + differential

const readBase = (type) => JSON.parse(readFileSync(join(r4, `StructureDefinition-${type}.json`), 'utf8'));
const clone = (x) => JSON.parse(JSON.stringify(x));

/** Applies a differential to a base snapshot: merges matching ids, inserts new slices after their sliced element's block. */
function buildSnapshot(baseSnapshot, differential, profileUrl) {
  const snapshot = clone(baseSnapshot);
  for (const diff of differential) {
    let target = snapshot.find((e) => e.id === diff.id);
    if (!target) {
      const colon = diff.id.lastIndexOf(':');
      if (colon < 0) throw new Error(`differential element ${diff.id} not in base snapshot (datatype children are constrained by invariants instead)`);
      const slicedId = diff.id.slice(0, colon);
      const sliced = snapshot.find((e) => e.id === slicedId);
      if (!sliced) throw new Error(`sliced element ${slicedId} not found`);
      // insert after the sliced element, its children and its earlier slices
      let at = snapshot.indexOf(sliced) + 1;
      while (at < snapshot.length && (snapshot[at].id.startsWith(`${slicedId}.`) || snapshot[at].id.startsWith(`${slicedId}:`))) at++;
      target = clone(sliced);
      delete target.slicing;
      target.id = diff.id;
      snapshot.splice(at, 0, target);
    }
    for (const [key, value] of Object.entries(diff)) {
      if (key === 'constraint') {
        target.constraint = [...(target.constraint ?? []), ...value.map((c) => ({ ...c, source: profileUrl }))];
      } else {
        target[key] = clone(value);
      }
    }
  }
  return snapshot;
}

function profile({ id, type, title, description, appliesWhen, differential, kind = 'resource', context }) {
  const base = readBase(type);
  const url = `${BASE}/StructureDefinition/${id}`;
  const diff = differential.map((e) => ({
    ...e,
    ...(e.constraint ? { constraint: e.constraint.map((c) => ({ ...c, source: url })) } : {}),
  }));
  const sd = {
    resourceType: 'StructureDefinition',
    ...(appliesWhen ? { extension: [{ url: APPLIES_WHEN, valueString: appliesWhen }] } : {}),
    ...common(id, id.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join(''), title, description),
    url,
    fhirVersion: '4.0.1',
    kind,
    abstract: false,
    ...(context ? { context } : {}),
    type,
    baseDefinition: base.url,
    derivation: 'constraint',
    snapshot: { element: buildSnapshot(base.snapshot.element, diff, url) },
    differential: { element: diff },
  };
  write(`StructureDefinition-${id}`, sd);
}

const ext = (id, title, description, contextExpr, valueType, extraValue = {}, constraint) =>
  profile({
    id,
    type: 'Extension',
    kind: 'complex-type',
    title,
    description,
    context: [{ type: 'element', expression: contextExpr }],
    differential: [
      { id: 'Extension', path: 'Extension', short: title, definition: description, ...(constraint ? { constraint } : {}) },
      { id: 'Extension.extension', path: 'Extension.extension', max: '0' },
      { id: 'Extension.url', path: 'Extension.url', fixedUri: `${BASE}/StructureDefinition/${id}` },
      { id: 'Extension.value[x]', path: 'Extension.value[x]', min: 1, type: [{ code: valueType }], ...extraValue },
    ],
  });

/**
 * A date or dateTime element the engine reads as a date (EP2) must be given to the day: "2025-03"
 * or "2025" is valid FHIR but has no local date, and the fact would be dropped without a word.
 * (A date-time without Z or an offset is already refused by the base type.)
 */
const DAY_PRECISION = (path) => `${path}.toString().length() >= 10`;
const dayPrecision = (key, human) => ({ key, severity: 'error', human, expression: DAY_PRECISION('$this') });

ext(
  'applies-when',
  'Applies when',
  'On a CCM StructureDefinition: a FHIRPath expression, evaluated on a resource of the profile\'s type, that is true when the profile applies to that resource (whether or not the resource declares the profile in meta.profile).',
  'StructureDefinition',
  'string',
);
ext(
  'care-plan-substantial-revision',
  'Care plan substantial revision',
  'One substantial revision of a comprehensive care plan, dated (R4, R15). substantiallyRevisedInMonth is true when any of these falls in the service month.',
  'CarePlan',
  'dateTime',
  { constraint: [dayPrecision('ccm-rev-1', 'The revision is dated to the day at least (a date, or a date-time with Z or an offset), so that its month in the practice time zone is known')] },
);
ext(
  'mdm-complexity',
  'MDM complexity',
  'Level of medical decision making by the billing practitioner during this care-management time entry (R4, R29, EP8). Ignored on clinical-staff entries.',
  'Encounter',
  'code',
  { binding: { strength: 'required', valueSet: `${BASE}/ValueSet/mdm-complexity` } },
  [
    {
      key: 'ccm-mdm-1',
      severity: 'error',
      human: 'MDM complexity is low, moderate or high',
      expression: "value.empty() or (value = 'low' or value = 'moderate' or value = 'high')",
    },
  ],
);

const UCUM = 'http://unitsofmeasure.org';
profile({
  id: 'ccm-time-entry',
  type: 'Encounter',
  title: 'CCM time entry',
  description: 'An Encounter recording minutes of care-management work (EP1 time entry; ccm-fhir-contract.md "time entries"). Minutes from length (UCUM min or h) or from period.start to period.end; date = period.start; performer from the participant typed clinical-staff or billing-practitioner.',
  appliesWhen: `type.${cmHas('care-management-time')}`,
  differential: [
    {
      id: 'Encounter',
      path: 'Encounter',
      constraint: [
        { key: 'ccm-te-4', severity: 'error', human: 'Encounter.type includes care-management-time', expression: `type.${cmHas('care-management-time')}` },
      ],
    },
    { id: 'Encounter.extension', path: 'Encounter.extension', slicing: { discriminator: [{ type: 'value', path: 'url' }], rules: 'open' } },
    { id: 'Encounter.extension:mdmComplexity', path: 'Encounter.extension', sliceName: 'mdmComplexity', min: 0, max: '1', type: [{ code: 'Extension', profile: [`${BASE}/StructureDefinition/mdm-complexity`] }], mustSupport: true },
    { id: 'Encounter.identifier', path: 'Encounter.identifier', mustSupport: true, comment: 'The first identifier (system|value) is the entry\'s dedupe id (EP3).' },
    { id: 'Encounter.type', path: 'Encounter.type', min: 1, mustSupport: true },
    { id: 'Encounter.subject', path: 'Encounter.subject', min: 1, type: [{ code: 'Reference', targetProfile: ['http://hl7.org/fhir/StructureDefinition/Patient'] }], mustSupport: true },
    {
      id: 'Encounter.participant',
      path: 'Encounter.participant',
      min: 1,
      mustSupport: true,
      constraint: [
        { key: 'ccm-te-5', severity: 'error', human: 'A participant is typed clinical-staff or billing-practitioner (participant.type)', expression: `%resource.participant.type.coding.where(system='${CM}' and (code='clinical-staff' or code='billing-practitioner')).exists()` },
      ],
    },
    {
      id: 'Encounter.period',
      path: 'Encounter.period',
      min: 1,
      mustSupport: true,
      constraint: [
        {
          key: 'ccm-te-1',
          severity: 'error',
          human: 'A time entry states its minutes: length, or period.start and period.end both with a time of day (date-only ends say nothing about minutes)',
          expression: "%resource.length.exists() or (start.exists() and end.exists() and start.toString().contains('T') and end.toString().contains('T'))",
        },
        { key: 'ccm-te-3', severity: 'error', human: 'A time entry has a date: period.start, to the day at least (a date, or a date-time with Z or an offset)', expression: `start.exists() and ${DAY_PRECISION('start')}` },
      ],
    },
    {
      id: 'Encounter.length',
      path: 'Encounter.length',
      mustSupport: true,
      constraint: [
        {
          key: 'ccm-te-2',
          severity: 'error',
          human: 'length is given in UCUM minutes (min) or hours (h) (its code, or its unit when it has no code), with a value >= 0',
          expression: `value.exists() and value >= 0 and (system.empty() or system = '${UCUM}') and iif(code.exists(), code, unit).where($this = 'min' or $this = 'h').exists()`,
        },
      ],
    },
  ],
});

profile({
  id: 'ccm-consent',
  type: 'Consent',
  title: 'CCM consent',
  description: 'The documented CCM/PCM consent (R7-R10; ccm-fhir-contract.md "consent"). Date = dateTime; billing practitioner = a performer that references a Practitioner. status rejected = declined; inactive with provision.period.end = stopped (effective at the end of that month, R8).',
  appliesWhen: `category.${cmHas('ccm-consent')}`,
  differential: [
    {
      id: 'Consent',
      path: 'Consent',
      constraint: [
        { key: 'ccm-con-1', severity: 'error', human: 'category includes ccm-consent', expression: `category.${cmHas('ccm-consent')}` },
        { key: 'ccm-con-2', severity: 'warning', human: 'An inactive (stopped) CCM consent states when it ended in provision.period.end; without it, it never counts', expression: "status != 'inactive' or provision.period.end.exists()" },
      ],
    },
    { id: 'Consent.category', path: 'Consent.category', mustSupport: true },
    { id: 'Consent.patient', path: 'Consent.patient', min: 1, mustSupport: true },
    { id: 'Consent.dateTime', path: 'Consent.dateTime', min: 1, mustSupport: true, constraint: [dayPrecision('ccm-con-3', 'The consent is dated to the day at least (a date, or a date-time with Z or an offset)')] },
    { id: 'Consent.performer', path: 'Consent.performer', mustSupport: true },
    { id: 'Consent.provision', path: 'Consent.provision', mustSupport: true },
  ],
});

profile({
  id: 'ccm-care-plan',
  type: 'CarePlan',
  title: 'CCM care plan',
  description: 'The comprehensive care plan (CCM) or disease-specific plan (PCM) (R15-R17; ccm-fhir-contract.md "care plan"). Each care-plan-substantial-revision extension is one dated substantial revision (R4).',
  appliesWhen: `category.${cmHas('ccm-care-plan')}`,
  differential: [
    {
      id: 'CarePlan',
      path: 'CarePlan',
      constraint: [
        { key: 'ccm-cp-1', severity: 'error', human: 'category includes ccm-care-plan', expression: `category.${cmHas('ccm-care-plan')}` },
        { key: 'ccm-cp-2', severity: 'error', human: "A CCM care plan has intent 'plan'", expression: "intent = 'plan'" },
      ],
    },
    { id: 'CarePlan.extension', path: 'CarePlan.extension', slicing: { discriminator: [{ type: 'value', path: 'url' }], rules: 'open' } },
    { id: 'CarePlan.extension:substantialRevision', path: 'CarePlan.extension', sliceName: 'substantialRevision', min: 0, max: '*', type: [{ code: 'Extension', profile: [`${BASE}/StructureDefinition/care-plan-substantial-revision`] }], mustSupport: true },
    { id: 'CarePlan.status', path: 'CarePlan.status', mustSupport: true },
    { id: 'CarePlan.category', path: 'CarePlan.category', min: 1, mustSupport: true },
    { id: 'CarePlan.subject', path: 'CarePlan.subject', type: [{ code: 'Reference', targetProfile: ['http://hl7.org/fhir/StructureDefinition/Patient'] }], mustSupport: true },
    { id: 'CarePlan.created', path: 'CarePlan.created', min: 1, mustSupport: true, constraint: [dayPrecision('ccm-cp-3', 'The care plan is dated to the day at least (a date, or a date-time with Z or an offset)')] },
  ],
});

profile({
  id: 'ccm-chronic-condition',
  type: 'Condition',
  title: 'CCM chronic condition',
  description: 'A Condition the CCM engine can read (ccm-fhir-contract.md "conditions", EP4): an ICD-10-CM or SNOMED CT coding, clinicalStatus, onset as dateTime or Period, abatement as dateTime or Period. Forms the engine cannot read are warned about, not refused: the condition then simply does not count.',
  appliesWhen: `code.coding.where(system='${ICD10CM}' or system='${SNOMED}').exists()`,
  differential: [
    {
      id: 'Condition',
      path: 'Condition',
      constraint: [
        { key: 'ccm-cc-1', severity: 'warning', human: 'clinicalStatus is needed for the condition to count when it has no abatement', expression: "clinicalStatus.exists() or abatement.exists() or verificationStatus.coding.where(code='entered-in-error').exists()" },
        { key: 'ccm-cc-2', severity: 'warning', human: 'onset other than onsetDateTime or onsetPeriod is treated as absent', expression: 'onset.empty() or onset is dateTime or onset is Period' },
        { key: 'ccm-cc-3', severity: 'warning', human: 'abatement other than abatementDateTime or abatementPeriod is treated as absent', expression: 'abatement.empty() or abatement is dateTime or abatement is Period' },
      ],
    },
    { id: 'Condition.clinicalStatus', path: 'Condition.clinicalStatus', mustSupport: true },
    { id: 'Condition.verificationStatus', path: 'Condition.verificationStatus', mustSupport: true },
    { id: 'Condition.code', path: 'Condition.code', min: 1, mustSupport: true },
    { id: 'Condition.subject', path: 'Condition.subject', type: [{ code: 'Reference', targetProfile: ['http://hl7.org/fhir/StructureDefinition/Patient'] }], mustSupport: true },
    { id: 'Condition.onset[x]', path: 'Condition.onset[x]', mustSupport: true },
    { id: 'Condition.abatement[x]', path: 'Condition.abatement[x]', mustSupport: true },
  ],
});

profile({
  id: 'ccm-community-referral',
  type: 'ServiceRequest',
  title: 'CCM community referral',
  description: 'A referral to home- and community-based services made as part of care management (R16, R18).',
  appliesWhen: `category.${cmHas('community-referral')}`,
  differential: [
    {
      id: 'ServiceRequest',
      path: 'ServiceRequest',
      constraint: [{ key: 'ccm-cr-1', severity: 'error', human: 'category includes community-referral', expression: `category.${cmHas('community-referral')}` }],
    },
    { id: 'ServiceRequest.category', path: 'ServiceRequest.category', min: 1, mustSupport: true },
    { id: 'ServiceRequest.code', path: 'ServiceRequest.code', min: 1, mustSupport: true, comment: 'The service referred to (text is enough when no code fits).' },
    { id: 'ServiceRequest.subject', path: 'ServiceRequest.subject', type: [{ code: 'Reference', targetProfile: ['http://hl7.org/fhir/StructureDefinition/Patient'] }], mustSupport: true },
    { id: 'ServiceRequest.authoredOn', path: 'ServiceRequest.authoredOn', min: 1, mustSupport: true },
    { id: 'ServiceRequest.performer', path: 'ServiceRequest.performer', mustSupport: true },
  ],
});

// ---------------------------------------------------------------------------------------------
// OperationDefinitions

const p = (name, use, min, max, type, documentation, part) => ({
  name,
  use,
  min,
  max: String(max),
  ...(type ? { type } : {}),
  documentation,
  ...(part ? { part } : {}),
});
const conditionPart = (use) =>
  p('condition', use, 0, '*', null, 'One per qualifying Condition (D3, EP4).', [
    p('reference', use, 1, 1, 'Reference', 'The Condition.'),
    p('category', use, 1, 1, 'code', 'Its chronic condition category (§12 id, CodeSystem chronic-condition-category).'),
  ]);
const eligibilityParts = (use) => [
  p('month', use, 1, 1, 'string', 'The month evaluated (YYYY-MM).'),
  p('eligible', use, 1, 1, 'boolean', 'All gates of EP10 pass.'),
  p('program', use, 0, 1, 'code', 'CCM (>= 2 qualifying categories) or PCM (exactly 1) (EP5).'),
  p('reason', use, 0, '*', 'code', 'The EP10 gate keys that failed.'),
  conditionPart(use),
];
const billingParts = (use) => [
  p('month', use, 1, 1, 'string', 'The month billed (YYYY-MM).'),
  p('eligible', use, 1, 1, 'boolean', 'As in $ccm-eligibility.'),
  p('program', use, 0, 1, 'code', 'CCM or PCM.'),
  p('billingPractitioner', use, 0, 1, 'Reference', 'The practitioner chosen by EP7.'),
  p('line', use, 0, '*', null, 'One per billed code (EP13).', [
    p('code', use, 1, 1, 'Coding', 'CPT code (http://www.ama-assn.org/go/cpt).'),
    p('units', use, 1, 1, 'integer', 'Units.'),
    p('minutes', use, 1, 1, 'integer', 'The minutes this line stands for (base: its minimum; add-on: units x increment).'),
    p('entry', use, 0, '*', 'Reference', 'The time-entry Encounters counted toward this line.'),
  ]),
  p('minutes', use, 1, 1, null, 'Countable minutes (D2).', [
    p('clinicalStaff', use, 1, 1, 'integer', 'S'),
    p('billingPractitioner', use, 1, 1, 'integer', 'P'),
    p('counted', use, 1, 1, 'integer', 'M = S + P'),
  ]),
  p('reason', use, 0, '*', 'code', 'EP16 reason keys.'),
  p('explanation', use, 0, '*', 'string', 'One sentence per decision, citing the rule ids (R..., EP...). Engine policies and unconfirmed (⚠) items are labelled as such.'),
];
const paging = [
  p('_count', 'in', 0, 1, 'integer', 'Type/system level only: page size.'),
  p('_page', 'in', 0, 1, 'string', 'Type/system level only: the page token taken from a previous response\'s next link.'),
];
const patientWrap = (parts, doc) => p('patient', 'out', 0, '*', null, doc, [p('subject', 'out', 1, 1, 'Reference', 'The Patient.'), ...parts]);

const opdef = (id, code, title, description, flags, parameter) => ({
  resourceType: 'OperationDefinition',
  ...common(id, id.replace(/(^|-)(\w)/g, (_, __, c) => c.toUpperCase()), title, description),
  url: `${BASE}/OperationDefinition/${id}`,
  kind: 'operation',
  affectsState: false,
  code,
  ...flags,
  parameter,
});

write(
  'OperationDefinition-ccm-eligibility',
  opdef(
    'ccm-eligibility',
    'ccm-eligibility',
    'CCM eligibility',
    'Evaluates the EP10 gates and the program (EP5) of a patient for a month. Instance level: GET [base]/Patient/{id}/$ccm-eligibility?month=YYYY-MM (month defaults to the current month). Type level: every patient with at least one qualifying chronic condition, one patient part each, paged. Results are engine decisions over the billing-rules document; engine policies are not Medicare rules.',
    { resource: ['Patient'], system: false, type: true, instance: true },
    [
      p('month', 'in', 0, 1, 'string', 'Service month YYYY-MM; defaults to the current month; a future or malformed month is refused (4xx).'),
      ...paging,
      ...eligibilityParts('out'),
      patientWrap(eligibilityParts('out'), 'Type level: one per patient, first part subject.'),
    ],
  ),
);

write(
  'OperationDefinition-ccm-billing',
  opdef(
    'ccm-billing',
    'ccm-billing',
    'CCM billing',
    'Computes the care-management billing lines of a month (EP12-EP16). GET [base]/Patient/{id}/$ccm-billing?month=YYYY-MM; GET [base]/$ccm-billing?month=YYYY-MM (every patient with care-management time or a qualifying consent in the month, paged); POST [base]/$ccm-billing with month, optional patient references and persist. persist=true (POST only) writes one ChargeItem per line with identifier https://ccm-fhir.org/fhir/charge|{patient}|{month}|{code}, idempotently. affectsState is false because the GET forms never write; persist=true must be sent by POST.',
    { resource: ['Patient'], system: true, type: false, instance: true },
    [
      p('month', 'in', 0, 1, 'string', 'Service month YYYY-MM (required for the system level); a future or malformed month is refused (4xx).'),
      p('patient', 'in', 0, '*', 'Reference', 'POST only: restrict to these patients.'),
      p('persist', 'in', 0, 1, 'boolean', 'POST only: also write one ChargeItem per line (idempotent).'),
      ...paging,
      ...billingParts('out'),
      patientWrap(billingParts('out'), 'System level: one per patient, first part subject.'),
    ],
  ),
);

const worklistRow = [
  p('subject', 'out', 1, 1, 'Reference', 'The Patient.'),
  p('eligible', 'out', 1, 1, 'boolean', 'EP10 gates pass.'),
  p('program', 'out', 0, 1, 'code', 'CCM or PCM.'),
  p('billingPractitioner', 'out', 0, 1, 'Reference', 'Chosen by EP7.'),
  p('minutesCounted', 'out', 1, 1, 'integer', 'Countable minutes so far (M; for the practitioner-only family, P).'),
  p('billableCode', 'out', 0, '*', 'Coding', 'Code(s) the month would bill today, base first.'),
  p('nextThreshold', 'out', 0, 1, 'integer', 'The next billable threshold in minutes (20/40/60 staff CCM, 30/60/90 practitioner CCM and PCM, 60/90/... complex); absent when more minutes would not add a unit.'),
  p('minutesNeeded', 'out', 0, 1, 'integer', 'Minutes still needed to reach nextThreshold.'),
  p('daysLeft', 'out', 1, 1, 'integer', 'Days left in the month including today.'),
  p('reason', 'out', 0, '*', 'code', 'EP16 reason keys as of today.'),
];
write(
  'OperationDefinition-ccm-worklist',
  opdef(
    'ccm-worklist',
    'ccm-worklist',
    'CCM worklist',
    'The current month so far, for care teams: per patient with care-management time or a qualifying consent in the month, the minutes counted, the code the month would bill today, the minutes still needed for the next billable threshold and the days left in the month. Sorted by days left, then minutes needed (fewest first; rows with nothing more to gain last). GET [base]/$ccm-worklist?month=YYYY-MM.',
    { resource: ['Patient'], system: true, type: false, instance: false },
    [
      p('month', 'in', 0, 1, 'string', 'Service month YYYY-MM; defaults to the current month.'),
      p('practitioner', 'in', 0, 1, 'Reference', 'Only rows whose billing practitioner (EP7) is this Practitioner.'),
      ...paging,
      p('month', 'out', 1, 1, 'string', 'The month.'),
      p('row', 'out', 0, '*', null, 'One per patient, in worklist order.', worklistRow),
    ],
  ),
);

console.log('profiles written to', out);
