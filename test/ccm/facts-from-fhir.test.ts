// Each row of ccm-fhir-contract.md "Facts, one by one", on hand-built resources.
import t from 'tap';
import type { CarePlan, ChargeItem, Condition, Consent, Coverage, Encounter, Patient, Procedure } from 'fhir/r4.js';
import { factsFromFhir, type PatientResources } from '../../src/ccm/facts-from-fhir.js';

const CM = 'https://ccm-fhir.org/fhir/CodeSystem/care-management';
const CPT = 'http://www.ama-assn.org/go/cpt';
const HCPCS = 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';
const SOPT = 'urn:oid:2.16.840.1.113883.3.221.5';
const patient: Patient = { resourceType: 'Patient', id: 'pat1', birthDate: '1948-11-02' };
const subject = { reference: 'Patient/pat1' };
const MONTH = '2025-03';
const run = (r: Partial<PatientResources>, month = MONTH, tz?: string) => factsFromFhir({ patient, ...r }, month, tz ? { timeZone: tz } : {});

const coverage = (over: Partial<Coverage> = {}): Coverage => ({
  resourceType: 'Coverage',
  id: 'cov',
  status: 'active',
  beneficiary: subject,
  payor: [{ display: 'CMS' }],
  type: { coding: [{ system: SOPT, code: '121' }] },
  ...over,
});
const condition = (id: string, over: Partial<Condition> = {}): Condition => ({
  resourceType: 'Condition',
  id,
  subject,
  clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
  code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'I10' }] },
  ...over,
});
const consent = (id: string, dateTime: string, over: Partial<Consent> = {}): Consent => ({
  resourceType: 'Consent',
  id,
  status: 'active',
  scope: { coding: [{ code: 'treatment' }] },
  category: [{ coding: [{ system: CM, code: 'ccm-consent' }] }],
  patient: subject,
  dateTime,
  performer: [{ reference: 'Practitioner/doc' }],
  ...over,
});
const plan = (id: string, created: string, over: Partial<CarePlan> = {}): CarePlan => ({
  resourceType: 'CarePlan',
  id,
  status: 'active',
  intent: 'plan',
  category: [{ coding: [{ system: CM, code: 'ccm-care-plan' }] }],
  subject,
  created,
  ...over,
});
const visit = (id: string, start: string, over: Partial<Encounter> = {}): Encounter => ({
  resourceType: 'Encounter',
  id,
  status: 'finished',
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
  type: [{ coding: [{ system: CPT, code: '99214' }] }],
  subject,
  participant: [{ individual: { reference: 'Practitioner/doc' } }],
  period: { start },
  ...over,
});
const timeEntry = (id: string, start: string, over: Partial<Encounter> = {}, role = 'clinical-staff'): Encounter => ({
  resourceType: 'Encounter',
  id,
  status: 'finished',
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR' },
  type: [{ coding: [{ system: CM, code: 'care-management-time' }] }],
  subject,
  participant: [{ type: [{ coding: [{ system: CM, code: role }] }], individual: { reference: 'Practitioner/nurse' } }],
  period: { start },
  length: { value: 20, system: 'http://unitsofmeasure.org', code: 'min' },
  ...over,
});

t.test('patient and medicare', async (t) => {
  t.equal(run({}).facts.patient.birthDate, '1948-11-02');
  t.equal(run({}).facts.patient.medicare, false, 'no Coverage -> not medicare');
  for (const code of ['1', '12', '121']) t.equal(run({ coverages: [coverage({ type: { coding: [{ system: SOPT, code }] } })] }).facts.patient.medicare, true, `SOPT ${code}`);
  t.equal(run({ coverages: [coverage({ type: { coding: [{ system: SOPT, code: '11' }] } })] }).facts.patient.medicare, false, 'Medicare Advantage (11)');
  t.equal(run({ coverages: [coverage({ type: { coding: [{ system: SOPT, code: '111' }] } })] }).facts.patient.medicare, false);
  t.equal(run({ coverages: [coverage({ type: { coding: [{ system: 'http://other', code: '1' }] } })] }).facts.patient.medicare, false, 'other system');
  t.equal(run({ coverages: [coverage({ status: 'cancelled' })] }).facts.patient.medicare, false, 'not active');
  t.equal(run({ coverages: [coverage({ beneficiary: { reference: 'Patient/other' } })] }).facts.patient.medicare, false, 'another beneficiary');
  t.equal(run({ coverages: [coverage({ period: { end: '2025-02-28' } })] }).facts.patient.medicare, false, 'ended before the month');
  t.equal(run({ coverages: [coverage({ period: { start: '2025-04-01' } })] }).facts.patient.medicare, false, 'starts after the month');
  t.equal(run({ coverages: [coverage({ period: { start: '2025-03-31', end: '2026-01-01' } })] }).facts.patient.medicare, true, 'overlaps on one day');
  t.equal(run({ coverages: [coverage({ period: { end: '2025-03-01' } })] }).facts.patient.medicare, true);
  t.equal(run({ coverages: [coverage()] }).sources.coverage, 'Coverage/cov');
});

t.test('conditions', async (t) => {
  const r = run({
    conditions: [
      condition('a', { onsetDateTime: '2010-01-01', abatementDateTime: '2025-03-02', clinicalStatus: { coding: [{ code: 'resolved' }] } }),
      condition('b', { verificationStatus: { coding: [{ code: 'entered-in-error' }] } }),
      condition('c', { verificationStatus: { coding: [{ code: 'refuted' }] } }),
      condition('d', { code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'Z86.79' }, { system: 'http://snomed.info/sct', code: '44054006', display: 'DM2' }] } }),
      condition('e', { code: { coding: [{ system: 'http://loinc.org', code: '1234-5' }], text: 'local' } }),
      condition('f', { onsetPeriod: { start: '2020-05-01' }, abatementPeriod: { end: '2025-04-02' } }),
      condition('g', { onsetAge: { value: 60 }, abatementString: 'childhood' }),
      condition('h', { subject: { reference: 'Patient/other' } }),
      condition('i', { code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'Z86.79' }], text: 'History of' } }),
      condition('j', { clinicalStatus: undefined }),
    ],
  });
  t.same(r.sources.conditions, ['Condition/a', 'Condition/d', 'Condition/f', 'Condition/g', 'Condition/i', 'Condition/j']);
  t.same(r.facts.conditions[0], { code: 'I10', system: 'http://hl7.org/fhir/sid/icd-10-cm', clinicalStatus: 'resolved', onset: '2010-01-01', abatement: '2025-03-02' });
  t.same(r.facts.conditions[1], { code: '44054006', system: 'http://snomed.info/sct', display: 'DM2', clinicalStatus: 'active' }, 'a mapped coding is preferred');
  t.same([r.facts.conditions[2].onset, r.facts.conditions[2].abatement], ['2020-05-01', '2025-04-02'], 'onsetPeriod.start, abatementPeriod.end');
  t.same([r.facts.conditions[3].onset, r.facts.conditions[3].abatement], [undefined, undefined], 'other onset/abatement forms are absent');
  t.equal(r.facts.conditions[4].code, 'Z86.79', 'an unmapped ICD coding is still a fact (the engine ignores it)');
  t.equal(r.facts.conditions[5].clinicalStatus, '');
  t.same(
    r.skipped.map((s) => s.reference),
    ['Condition/b', 'Condition/c', 'Condition/e'],
  );
});

t.test('consent', async (t) => {
  t.equal(run({}).facts.consent, null);
  const latest = run({ consents: [consent('old', '2024-05-01'), consent('new', '2025-02-01', { performer: [{ reference: 'Practitioner/doc2' }] }), consent('future', '2025-06-01')] });
  t.same(latest.facts.consent, { date: '2025-02-01', billingPractitioner: 'Practitioner/doc2' }, 'latest on or before month end');
  t.equal(latest.sources.consent, 'Consent/new');
  t.same(run({ consents: [consent('later', '2025-05-01'), consent('later2', '2025-06-01')] }).facts.consent?.date, '2025-05-01', 'only later ones: the earliest (gate: consent_after_month)');
  t.equal(run({ consents: [consent('x', '2025-01-01', { category: [{ coding: [{ system: CM, code: 'ccm-care-plan' }] }] })] }).facts.consent, null, 'needs category ccm-consent');
  t.equal(run({ consents: [consent('x', '2025-01-01', { status: 'rejected' })] }).facts.consent, null, 'declined consent never counts');
  t.equal(run({ consents: [consent('x', '2025-01-01', { status: 'draft' })] }).facts.consent, null);
  t.equal(run({ consents: [consent('x', '2025-01-01', { status: 'inactive', provision: { period: { end: '2025-03-01' } } })] }).facts.consent?.date, '2025-01-01', 'stopped this month: covered to month end');
  t.equal(run({ consents: [consent('x', '2025-01-01', { status: 'inactive', provision: { period: { end: '2025-02-28' } } })] }).facts.consent, null, 'stopped before the month');
  t.equal(run({ consents: [consent('x', '2025-01-01', { status: 'inactive' })] }).facts.consent, null, 'inactive without an end');
  t.same(run({ consents: [consent('x', '2025-01-01', { performer: [{ reference: 'Organization/clinic' }] })] }).facts.consent, { date: '2025-01-01' }, 'a non-Practitioner performer names nobody');
  t.same(run({ consents: [consent('x', '2025-01-01', { performer: [{ reference: 'https://ehr.example.org/fhir/Practitioner/doc9/_history/2' }] })] }).facts.consent?.billingPractitioner, 'Practitioner/doc9');
  t.equal(run({ consents: [consent('x', '2025-01-01', { patient: { reference: 'Patient/other' } })] }).facts.consent, null);
});

t.test('care plan', async (t) => {
  const r = run({
    carePlans: [
      plan('p1', '2024-01-01'),
      plan('p2', '2025-01-15', { status: 'on-hold' }),
      plan('p3', '2025-05-01'),
      plan('p4', '2025-02-01', { intent: 'proposal' }),
      plan('p5', '2025-02-02', { category: [{ text: 'other' }] }),
      plan('p6', '2025-02-03', { status: 'entered-in-error' }),
    ],
  });
  t.same(r.facts.carePlan, { status: 'on-hold', created: '2025-01-15', substantiallyRevisedInMonth: false }, 'latest-created on or before month end, intent plan, CCM category');
  t.equal(r.sources.carePlan, 'CarePlan/p2');
  const ext = (valueDateTime: string) => ({ url: 'https://ccm-fhir.org/fhir/StructureDefinition/care-plan-substantial-revision', valueDateTime });
  t.equal(run({ carePlans: [plan('p', '2024-01-01', { extension: [ext('2024-06-01'), ext('2025-03-31T22:00:00-05:00')] })] }).facts.carePlan?.substantiallyRevisedInMonth, false, '22:00 -05:00 on 31 March is 1 April in UTC');
  t.equal(run({ carePlans: [plan('p', '2024-01-01', { extension: [ext('2025-03-31T22:00:00-05:00')] })] }, MONTH, 'America/New_York').facts.carePlan?.substantiallyRevisedInMonth, true);
  t.equal(run({ carePlans: [plan('p', '2024-01-01', { extension: [ext('2025-03-15')] })] }).facts.carePlan?.substantiallyRevisedInMonth, true);
  t.equal(run({ carePlans: [plan('p', '2025-04-01')] }).facts.carePlan?.created, '2025-04-01', 'only later plans: gate reports care_plan_missing');
});

t.test('initiating visit', async (t) => {
  const r = run({
    encounters: [
      visit('v1', '2024-11-02T10:00:00Z'),
      visit('v2', '2025-01-20'),
      visit('v3', '2025-04-01'),
      visit('v4', '2025-02-01', { type: [{ coding: [{ system: CPT, code: '99211' }] }] }),
      visit('v5', '2025-02-02', { status: 'cancelled' }),
      visit('v6', '2025-02-03', { class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' } }),
    ],
  });
  t.same(r.facts.initiatingVisit, { date: '2025-01-20' });
  t.equal(r.sources.initiatingVisit, 'Encounter/v2');
  t.same(run({ encounters: [visit('v', '2025-01-02', { type: [{ coding: [{ system: HCPCS, code: 'G0438' }] }] })] }).facts.initiatingVisit, { date: '2025-01-02' }, 'AWV');
  t.same(run({ encounters: [visit('v', '2025-01-02', { class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HH' }, type: [{ coding: [{ system: CPT, code: '99345' }] }] })] }).facts.initiatingVisit, { date: '2025-01-02' }, 'home visit');
  t.equal(run({ encounters: [visit('v', '2025-01-02', { type: [{ coding: [{ system: CPT, code: '99495' }] }] })] }).facts.initiatingVisit, null, 'TCM is not accepted (R12 ⚠)');
  const byOther = run({ consents: [consent('c', '2025-01-01')], encounters: [visit('v', '2025-01-02', { participant: [{ individual: { reference: 'Practitioner/someone-else' } }] })] });
  t.equal(byOther.facts.initiatingVisit, null, 'a visit naming only another practitioner is not the billing practitioner\'s (EP1)');
  const unnamed = run({ consents: [consent('c', '2025-01-01')], encounters: [visit('v', '2025-01-02', { participant: [] })] });
  t.same(unnamed.facts.initiatingVisit, { date: '2025-01-02' });
});

t.test('time entries', async (t) => {
  const doc = { type: [{ coding: [{ system: CM, code: 'billing-practitioner' }] }], individual: { reference: 'Practitioner/doc' } };
  const r = run({
    consents: [consent('c', '2025-01-01')],
    encounters: [
      timeEntry('t1', '2025-03-03T10:00:00-05:00', { identifier: [{ system: 'https://ehr/x', value: '1' }] }),
      timeEntry('t2', '2025-03-04', { length: { value: 0.5, system: 'http://unitsofmeasure.org', code: 'h' } }),
      timeEntry('t3', '2025-03-05T10:00:00Z', { length: undefined, period: { start: '2025-03-05T10:00:00Z', end: '2025-03-05T10:17:45Z' } }),
      timeEntry('t4', '2025-03-06', { length: undefined }),
      timeEntry('t5', '2025-03-07T09:00:00Z', { participant: [doc], extension: [{ url: 'https://ccm-fhir.org/fhir/StructureDefinition/mdm-complexity', valueCode: 'high' }] }, 'billing-practitioner'),
      timeEntry('t6', '2025-03-08', { participant: [{ type: [{ coding: [{ system: CM, code: 'clinical-staff' }] }] }, doc] }),
      timeEntry('t7', '2025-03-09', { participant: [{ individual: { reference: 'Practitioner/nurse' } }] }),
      timeEntry('t8', '2025-03-10', { status: 'in-progress' }),
      timeEntry('t9', '2025-02-10'),
      timeEntry('t10', '2025-04-01T01:00:00+02:00'),
      timeEntry('t11', '2025-03-11', { subject: { reference: 'Patient/other' } }),
      timeEntry('t12', '2025-03-12', { length: { value: 20, system: 'http://unitsofmeasure.org', code: 's' } }),
    ],
  });
  t.same(r.sources.timeEntries, ['Encounter/t1', 'Encounter/t2', 'Encounter/t3', 'Encounter/t5', 'Encounter/t6', 'Encounter/t10']);
  const [t1, t2, t3, t5, t6, t10] = r.facts.timeEntries;
  t.same(t1, { date: '2025-03-03T10:00:00-05:00', minutes: 20, performer: 'clinical-staff', complexMdm: null, billingPractitioner: 'Practitioner/doc', id: 'https://ehr/x|1' }, 'staff entry; practitioner from the consent');
  t.equal(t2.minutes, 30, '0.5 h');
  t.equal(t3.minutes, 17, 'whole minutes between period.start and period.end');
  t.same([t5.performer, t5.complexMdm, t5.billingPractitioner], ['billing-practitioner', 'high', 'Practitioner/doc']);
  t.same([t6.performer, t6.billingPractitioner], ['clinical-staff', 'Practitioner/doc'], 'the practitioner directing staff work');
  t.equal(t10.date, '2025-04-01T01:00:00+02:00', 'a boundary entry reaches the engine (which judges its month)');
  t.same(
    r.skipped.map((s) => s.reference),
    ['Encounter/t4', 'Encounter/t7', 'Encounter/t12'],
    'no minutes, no typed participant, a unit other than min/h',
  );
  const fraction = (value: number, code: string) => run({ encounters: [timeEntry('t', '2025-03-03', { length: { value, system: 'http://unitsofmeasure.org', code } })] }).facts.timeEntries[0].minutes;
  t.same([fraction(10.5, 'min'), fraction(0.33, 'h'), fraction(0.1, 'h')], [10.5, 19.8, 6], 'length as stated, fractions included (only the period fallback is whole minutes)');
  const noConsent = run({ encounters: [timeEntry('t', '2025-03-03')] });
  t.equal(noConsent.facts.timeEntries[0].billingPractitioner, null, 'nobody named anywhere');
});

t.test('other services in the month', async (t) => {
  const proc: Procedure = { resourceType: 'Procedure', id: 'pr', status: 'completed', subject, code: { coding: [{ system: HCPCS, code: 'G0181' }] }, performedDateTime: '2025-03-09' };
  const ours: ChargeItem = {
    resourceType: 'ChargeItem',
    id: 'ours',
    status: 'billable',
    subject,
    identifier: [{ system: 'https://ccm-fhir.org/fhir/charge', value: 'pat1|2025-03|99490' }],
    code: { coding: [{ system: CPT, code: '99490' }] },
    occurrencePeriod: { start: '2025-03-01', end: '2025-03-31' },
  };
  const theirs: ChargeItem = { resourceType: 'ChargeItem', id: 'theirs', status: 'billed', subject, code: { coding: [{ system: HCPCS, code: 'G0558' }] }, occurrenceDateTime: '2025-03-02', performer: [{ actor: { reference: 'Practitioner/doc2' } }] };
  const r = run({
    encounters: [
      visit('tcm', '2025-03-04', { type: [{ coding: [{ system: CPT, code: '99495' }, { system: 'http://snomed.info/sct', code: '185389009' }] }] }),
      visit('feb', '2025-02-27', { type: [{ coding: [{ system: CPT, code: '99214' }] }] }),
      visit('cancelled', '2025-03-05', { status: 'cancelled' }),
      timeEntry('te', '2025-03-06', { type: [{ coding: [{ system: CM, code: 'care-management-time' }] }, { coding: [{ system: CPT, code: '99490' }] }] }),
    ],
    procedures: [proc, { ...proc, id: 'nd', status: 'not-done' }],
    chargeItems: [ours, theirs, { ...theirs, id: 'apr', occurrenceDateTime: '2025-04-01' }],
  });
  t.same(r.facts.otherServicesInMonth, ['99495|Practitioner/doc', 'G0181', 'G0558|Practitioner/doc2']);
  t.same(r.sources.otherServices, ['Encounter/tcm', 'Procedure/pr', 'ChargeItem/theirs']);
});

t.test('time entries of other months: only those that share a dedupe id with one of the month (EP3 before the month filter, EP12)', async (t) => {
  const id = (value: string) => ({ identifier: [{ system: 'https://ehr.example.org/te', value }] });
  const encounters = [
    timeEntry('feb', '2025-02-20T10:00:00Z', id('Y1')),
    timeEntry('mar', '2025-03-06T10:00:00Z', id('Y1')),
    timeEntry('mar2', '2025-03-07T10:00:00Z', id('Y2')),
    timeEntry('jan', '2025-01-07T10:00:00Z', id('Y3')),
    timeEntry('apr', '2025-04-02T10:00:00Z', id('Y2')),
    timeEntry('written-march', '2025-03-31T21:30:00-04:00'),
    timeEntry('utc-april', '2025-04-01T02:00:00Z'),
  ];
  const march = run({ encounters });
  t.same(march.sources.timeEntries, ['Encounter/feb', 'Encounter/mar', 'Encounter/mar2', 'Encounter/apr'], 'in the order given: the month, and its duplicates elsewhere');
  t.same(march.facts.timeEntries.map((e) => e.id), ['https://ehr.example.org/te|Y1', 'https://ehr.example.org/te|Y1', 'https://ehr.example.org/te|Y2', 'https://ehr.example.org/te|Y2']);
  t.same(run({ encounters }, '2025-02').sources.timeEntries, ['Encounter/feb', 'Encounter/mar']);
  t.same(run({ encounters }, '2025-01').sources.timeEntries, ['Encounter/jan']);
  t.same(run({ encounters }, '2025-04').sources.timeEntries, ['Encounter/mar2', 'Encounter/apr', 'Encounter/written-march', 'Encounter/utc-april'], 'April work in UTC, however the offset is written');
  t.same(run({ encounters }, MONTH, 'America/New_York').sources.timeEntries, ['Encounter/feb', 'Encounter/mar', 'Encounter/mar2', 'Encounter/apr', 'Encounter/written-march', 'Encounter/utc-april']);
});

t.test('one piece of work repeated in two months is billed in one (EP3, EP12, R33)', async (t) => {
  const { evaluateBilling } = await import('../../src/ccm/billing.js');
  const base = {
    coverages: [coverage()],
    conditions: [condition('htn'), condition('dm', { code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'E11.9' }] } })],
    consents: [consent('c', '2025-01-10')],
    carePlans: [plan('cp', '2025-01-10')],
  };
  const staff = (id: string, start: string, over: Partial<Encounter> = {}) =>
    timeEntry(id, start, { length: { value: 25, system: 'http://unitsofmeasure.org', code: 'min' }, participant: [{ type: [{ coding: [{ system: CM, code: 'clinical-staff' }] }] }, { type: [{ coding: [{ system: CM, code: 'billing-practitioner' }] }], individual: { reference: 'Practitioner/doc' } }], ...over });
  const bill = (encounters: Encounter[], month: string) => {
    const { facts } = run({ ...base, encounters: [visit('v', '2025-01-10'), ...encounters] }, month);
    const b = evaluateBilling(facts);
    return { lines: b.lines.map((l) => `${l.code}x${l.units}`), reasons: b.notBilledReasons, counted: b.minutes.counted };
  };
  const y1 = { identifier: [{ system: 'https://ehr.example.org/te', value: 'Y1' }] };
  const twice = [staff('te1', '2025-02-20T10:00:00Z', y1), staff('te2', '2025-03-06T10:00:00Z', y1)];
  t.same(bill(twice, '2025-02'), { lines: ['99490x1'], reasons: ['duplicate_entry_ignored'], counted: 25 }, 'February: the first one');
  t.same(bill(twice, '2025-03'), { lines: [], reasons: ['minutes_outside_month', 'duplicate_entry_ignored', 'insufficient_time'], counted: 0 }, 'March: its duplicate, dropped');

  // Whether minutes_outside_month appears depends on the instant, not on how it is written (EP2).
  const z1 = bill([staff('z1', '2025-03-31T21:30:00-04:00')], '2025-03');
  const z2 = bill([staff('z2', '2025-04-01T02:00:00Z')], '2025-03');
  t.same(z1, z2, 'two entries of 1 April in UTC, one written with -04:00');
  t.same(z1.reasons, ['insufficient_time']);
});
