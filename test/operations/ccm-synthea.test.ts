// End to end: a Synthea patient (shared data, two chronic conditions per index.json) loaded as its
// own transaction, enriched by a second transaction the way an EHR would send CCM facts
// (docs/ccm-integration.md §1): Original Medicare Coverage, CCM Consent, CCM CarePlan, the
// initiating visit and care-management time entries of March 2025, one of them near the month
// boundary with an offset. $ccm-eligibility and $ccm-billing are then called over HTTP and compared
// field by field with expectations worked out by hand from ccm-billing-rules.md (comments below),
// first in the default practice time zone (UTC), then with CCM_TIME_ZONE=America/New_York, where
// the boundary entry moves into the month. Skipped (one printed line) without the shared data.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, BundleEntry, Condition, Parameters, ParametersParameter, Resource } from 'fhir/r4.js';
import t from 'tap';
import { fhir, sharedData, startServer } from '../helpers/server.js';
import { practiceZone } from './ccm-fixtures.js';

const MONTH = '2025-03';
const CM = 'https://ccm-fhir.org/fhir/CodeSystem/care-management';
const CPT = 'http://www.ama-assn.org/go/cpt';
const SNOMED = 'http://snomed.info/sct';
const UCUM = 'http://unitsofmeasure.org';
const TE_SYSTEM = 'https://ehr.example.org/ccm-time-entry';

/**
 * ccm-billing-rules.md §12, the SNOMED CT codes of the categories Synthea data uses (copied from
 * the table, counts = Y for all of them). Codes not listed (e.g. prediabetes 15777000, BMI 30+
 * 162864005, metabolic syndrome 237602007, chronic sinusitis 40055000) map to no category (EP4).
 */
const SNOMED_CATEGORY: Record<string, string> = {
  '38341003': 'hypertension',
  '59621000': 'hypertension',
  '55822004': 'hyperlipidemia',
  '302870006': 'hyperlipidemia',
  '73211009': 'diabetes',
  '44054006': 'diabetes',
  '46635009': 'diabetes',
  '414545008': 'ischemic_heart_disease',
  '53741008': 'ischemic_heart_disease',
  '399211009': 'ischemic_heart_disease',
  '84114007': 'heart_failure',
  '42343007': 'heart_failure',
  '88805009': 'heart_failure',
  '49436004': 'atrial_fibrillation',
  '5370000': 'atrial_fibrillation',
  '709044004': 'ckd',
  '431855005': 'ckd',
  '431856006': 'ckd',
  '433144002': 'ckd',
  '700378005': 'ckd',
  '431857002': 'ckd',
  '433146000': 'ckd',
  '46177005': 'ckd',
  '13645005': 'copd',
  '185086009': 'copd',
  '87433001': 'copd',
  '195967001': 'asthma',
  '233678006': 'asthma',
  '26929004': 'adrd',
  '52448006': 'adrd',
  '370143000': 'depression',
  '36923009': 'depression',
  '35489007': 'depression',
  '13746004': 'depression',
  '64859006': 'osteoporosis',
  '69896004': 'ra_oa',
  '396275006': 'ra_oa',
  '239873007': 'ra_oa',
  '49049000': 'parkinsons',
  '40930008': 'hypothyroidism',
  '271737000': 'anemia',
  '266569009': 'bph',
  '254837009': 'cancer_breast',
  '363406005': 'cancer_colorectal',
  '254637007': 'cancer_lung',
  '254632001': 'cancer_lung',
  '126906006': 'cancer_prostate',
  '86406008': 'hiv_aids',
  '84757009': 'epilepsy',
  '58214004': 'schizophrenia',
  '197480006': 'anxiety',
  '47505003': 'ptsd',
  '414916001': 'obesity',
};

/**
 * EP4 by hand for the Synthea conditions: mapped by exact SNOMED code; active in March 2025 when
 * onset <= 2025-03-31 and either abatement >= 2025-03-01, or no abatement and clinicalStatus
 * active/recurrence/relapse; entered-in-error/refuted never count.
 */
function qualifying(condition: Condition): string | undefined {
  const category = condition.code?.coding?.filter((c) => c.system === SNOMED).map((c) => SNOMED_CATEGORY[c.code ?? '']).find(Boolean);
  if (!category) return undefined;
  const verification = condition.verificationStatus?.coding?.[0]?.code;
  if (verification === 'entered-in-error' || verification === 'refuted') return undefined;
  const onset = condition.onsetDateTime ?? condition.onsetPeriod?.start;
  if (onset && onset.slice(0, 10) > '2025-03-31') return undefined;
  const abatement = condition.abatementDateTime ?? condition.abatementPeriod?.end;
  if (abatement) return abatement.slice(0, 10) >= '2025-03-01' ? category : undefined;
  return ['active', 'recurrence', 'relapse'].includes(condition.clinicalStatus?.coding?.[0]?.code ?? '') ? category : undefined;
}

type Param = ParametersParameter;
const params = (p: Parameters | Param, name: string): Param[] => ((p as Parameters).parameter ?? (p as Param).part ?? []).filter((x) => x.name === name);
const one = (p: Parameters | Param, name: string): Param | undefined => params(p, name)[0];
type Asserts = Pick<typeof t, 'equal' | 'same' | 'ok'>;
const idOf = (location: string) => location.split('/').slice(0, 2).join('/');

interface Entry {
  key: string;
  start: string;
  end?: string;
  length?: number;
  performer: 'clinical-staff' | 'billing-practitioner';
  mdm?: 'low' | 'moderate' | 'high';
  identifier?: string;
  /** the directing/billing practitioner when it is not the consent's */
  other?: boolean;
}

/**
 * The month's time entries (consent and initiating visit on 2025-03-05; care plan created that day):
 * E1 staff 15 min on 03-03            -> before the start date (EP6): minutes_before_start
 * E2 practitioner 10 min on 03-05,    -> practitioner minutes on the initiating-visit day (EP9):
 *    MDM moderate                        same_day_visit_practitioner_minutes_excluded
 * E3 staff 10:00-10:25 -04:00 on 03-10 (period, no length) -> 25 staff minutes
 * E4 staff 20 min on 03-17 (date only), identifier te-4    -> 20 staff minutes
 * E5 practitioner 18 min on 03-20, MDM high                -> 18 practitioner minutes, MDM high (EP8)
 * E6 staff 30 min starting 2025-03-31T21:30-04:00 = 2025-04-01T01:30Z: the month boundary.
 *    UTC: local date 04-01 -> April work, not March's (and, duplicating nothing of March, not
 *    handed to the engine: no minutes_outside_month, as for any other entry of another month);
 *    America/New_York: 03-31 -> 30 staff minutes
 * E7 = E4 re-sent (same identifier te-4)                    -> duplicate_entry_ignored (EP3)
 * E8 staff 40 min on 03-12 directed by another practitioner -> other_practitioner_minutes_excluded (EP7)
 */
const ENTRIES: Entry[] = [
  { key: 'E1', start: '2025-03-03T14:00:00Z', length: 15, performer: 'clinical-staff', identifier: 'te-1' },
  { key: 'E2', start: '2025-03-05T15:00:00-05:00', length: 10, performer: 'billing-practitioner', mdm: 'moderate', identifier: 'te-2' },
  { key: 'E3', start: '2025-03-10T10:00:00-04:00', end: '2025-03-10T10:25:00-04:00', performer: 'clinical-staff', identifier: 'te-3' },
  { key: 'E4', start: '2025-03-17', length: 20, performer: 'clinical-staff', identifier: 'te-4' },
  { key: 'E5', start: '2025-03-20T16:00:00-04:00', length: 18, performer: 'billing-practitioner', mdm: 'high', identifier: 'te-5' },
  { key: 'E6', start: '2025-03-31T21:30:00-04:00', length: 30, performer: 'clinical-staff', identifier: 'te-6' },
  { key: 'E7', start: '2025-03-17', length: 20, performer: 'clinical-staff', identifier: 'te-4' },
  { key: 'E8', start: '2025-03-12T11:00:00-04:00', length: 40, performer: 'clinical-staff', identifier: 'te-8', other: true },
];

const URN = (n: number) => `urn:uuid:4d6c2a10-8f3e-4b1a-9c55-${String(n).padStart(12, '0')}`;
const STAFF = URN(1);
const OTHER = URN(2);
const PAYOR = URN(3);
const cmConcept = (code: string) => ({ coding: [{ system: CM, code }] });

/** The second transaction: what the EHR sends for CCM on top of the Synthea record. */
function enrichment(patient: string, practitioner: string, conditions: string[]): Bundle {
  const post = (fullUrl: string, resource: Resource): BundleEntry => ({ fullUrl, resource, request: { method: 'POST', url: resource.resourceType } });
  const timeEntry = (e: Entry, i: number): BundleEntry =>
    post(URN(100 + i), {
      resourceType: 'Encounter',
      identifier: e.identifier ? [{ system: TE_SYSTEM, value: e.identifier }] : undefined,
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR' },
      type: [cmConcept('care-management-time'), cmConcept('care-coordination')],
      subject: { reference: patient },
      period: e.end ? { start: e.start, end: e.end } : { start: e.start },
      ...(e.length !== undefined ? { length: { value: e.length, unit: 'min', system: UCUM, code: 'min' } } : {}),
      ...(e.mdm ? { extension: [{ url: 'https://ccm-fhir.org/fhir/StructureDefinition/mdm-complexity', valueCode: e.mdm }] } : {}),
      participant: [
        ...(e.performer === 'clinical-staff' ? [{ type: [cmConcept('clinical-staff')], individual: { reference: STAFF } }] : []),
        { type: [cmConcept('billing-practitioner')], individual: { reference: e.other ? OTHER : practitioner } },
      ],
    } as Resource);
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      post(STAFF, { resourceType: 'Practitioner', name: [{ family: 'Lindqvist', given: ['Maja'], suffix: ['RN'] }] } as Resource),
      post(OTHER, { resourceType: 'Practitioner', name: [{ family: 'Other', given: ['Oscar'], prefix: ['Dr.'] }] } as Resource),
      post(PAYOR, { resourceType: 'Organization', name: 'Centers for Medicare & Medicaid Services' } as Resource),
      post(URN(4), {
        resourceType: 'Coverage',
        status: 'active',
        type: { coding: [{ system: 'urn:oid:2.16.840.1.113883.3.221.5', code: '121', display: 'Medicare FFS' }] },
        beneficiary: { reference: patient },
        period: { start: '2014-05-01' },
        payor: [{ reference: PAYOR }],
      } as Resource),
      post(URN(5), {
        resourceType: 'Consent',
        status: 'active',
        scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'treatment' }] },
        category: [cmConcept('ccm-consent')],
        patient: { reference: patient },
        dateTime: '2025-03-05T09:40:00-05:00',
        performer: [{ reference: practitioner }],
        policyRule: { text: 'Verbal CCM consent documented: cost sharing, one practitioner per month, may stop at any time' },
      } as Resource),
      post(URN(6), {
        resourceType: 'CarePlan',
        status: 'active',
        intent: 'plan',
        category: [cmConcept('ccm-care-plan')],
        title: 'Comprehensive care plan',
        subject: { reference: patient },
        created: '2025-03-05',
        author: { reference: practitioner },
        addresses: conditions.map((reference) => ({ reference })),
      } as Resource),
      post(URN(7), {
        resourceType: 'Encounter',
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        type: [{ coding: [{ system: CPT, code: '99214' }], text: 'Office visit, CCM discussed' }],
        subject: { reference: patient },
        participant: [{ individual: { reference: practitioner } }],
        period: { start: '2025-03-05T09:00:00-05:00', end: '2025-03-05T09:45:00-05:00' },
      } as Resource),
      ...ENTRIES.map(timeEntry),
    ],
  };
}

const dir = sharedData();
const indexFile = dir ? join(dir, 'synthea', 'index.json') : undefined;
if (!indexFile || !existsSync(indexFile)) {
  if (dir) console.log(`# ${join(dir, 'synthea')} not found: skipping the Synthea CCM test`);
  t.pass('skipped: no shared Synthea data');
} else {
  const index = JSON.parse(readFileSync(indexFile, 'utf8')) as Array<{ file: string; deceased: boolean; chronic: string[] }>;
  // A living patient with exactly hypertension + diabetes per index.json (Latanya Kohler in the shared set).
  const picked = index.find((p) => !p.deceased && p.chronic.length === 2 && p.chronic.includes('hypertension') && p.chronic.includes('diabetes'));

  t.test('Synthea patient enriched with CCM facts: $ccm-eligibility and $ccm-billing', { skip: picked ? false : 'no patient with hypertension + diabetes in index.json' }, async (t) => {
    const synthea = JSON.parse(readFileSync(join(dir!, 'synthea', picked!.file), 'utf8')) as Bundle;
    const srv = await startServer();
    t.teardown(() => srv.close());
    const B = srv.base;

    // 1. The Synthea record as its own transaction.
    const tx1 = await fhir('POST', B, synthea);
    t.equal(tx1.status, 200, `Synthea transaction ${picked!.file} accepted`);
    const located = (synthea.entry ?? []).map((e, i) => ({ resource: e.resource!, ref: idOf((tx1.body as Bundle).entry![i].response!.location!) }));
    const patient = located.find((x) => x.resource.resourceType === 'Patient')!.ref;
    const practitioner = located.find((x) => x.resource.resourceType === 'Practitioner')!.ref;

    // Qualifying conditions (D3, EP4) by hand. For Latanya Kohler: Hypertension 38341003,
    // Osteoarthritis of knee 239873007 (ra_oa), Anemia 271737000, Diabetes 44054006,
    // Hypertriglyceridemia 302870006 (hyperlipidemia) — all active since before 2025, no
    // abatement: 5 categories -> CCM (>= 2, EP5). Her resolved sinusitis/pharyngitis/polyp and
    // the unmapped codes do not count.
    const expectedConditions = located
      .filter((x) => x.resource.resourceType === 'Condition')
      .flatMap((x) => {
        const category = qualifying(x.resource as Condition);
        return category ? [`${x.ref} ${category}`] : [];
      })
      .sort();
    const categories = new Set(expectedConditions.map((c) => c.split(' ')[1]));
    t.ok(categories.has('hypertension') && categories.has('diabetes'), `hypertension and diabetes among ${[...categories].join(', ')}`);
    const hypertensionAndDiabetes = expectedConditions.filter((c) => / (hypertension|diabetes)$/.test(c)).map((c) => c.split(' ')[0]);

    // 2. The CCM facts as a second transaction, referring to the stored Synthea resources.
    const tx2 = await fhir('POST', B, enrichment(patient, practitioner, hypertensionAndDiabetes));
    t.equal(tx2.status, 200, `enrichment transaction accepted ${tx2.status === 200 ? '' : tx2.text.slice(0, 500)}`);
    const refs = new Map<string, string>();
    const enrichmentEntries = enrichment(patient, practitioner, hypertensionAndDiabetes).entry!;
    enrichmentEntries.forEach((e, i) => refs.set(e.fullUrl!, idOf((tx2.body as Bundle).entry![i].response!.location!)));
    const enc = (key: string) => refs.get(URN(100 + ENTRIES.findIndex((e) => e.key === key)))!;

    // 3. $ccm-eligibility (EP10): Original Medicare (SOPT 121), 5 categories -> CCM, consent
    // 2025-03-05 <= month end, initiating visit (CPT 99214) 2025-03-05 not before consent minus a
    // year, care plan created 2025-03-05 and active: eligible, no reason.
    const el = await fhir('GET', `${B}/${patient}/$ccm-eligibility?month=${MONTH}`);
    t.equal(el.status, 200);
    t.equal(one(el.body, 'month')?.valueString, MONTH);
    t.equal(one(el.body, 'eligible')?.valueBoolean, true, 'eligible');
    t.equal(one(el.body, 'program')?.valueCode, 'CCM', 'program CCM');
    t.same(params(el.body, 'reason'), [], 'no failed gate');
    t.same(
      params(el.body, 'condition').map((c) => `${one(c, 'reference')?.valueReference?.reference} ${one(c, 'category')?.valueCode}`).sort(),
      expectedConditions,
      'one condition part per qualifying Condition, with its category',
    );

    /** The billing answer against the hand-computed expectation. */
    const checkBilling = (t: Asserts, body: Parameters, want: { S: number; P: number; lines: Array<{ code: string; units: number; minutes: number; entries: string[][] }>; reasons: string[] }) => {
      t.equal(one(body, 'month')?.valueString, MONTH);
      t.equal(one(body, 'eligible')?.valueBoolean, true, 'eligible');
      t.equal(one(body, 'program')?.valueCode, 'CCM', 'program CCM');
      t.equal(one(body, 'billingPractitioner')?.valueReference?.reference, practitioner, 'the consent names the billing practitioner (EP7)');
      const minutes = one(body, 'minutes')!;
      t.equal(one(minutes, 'clinicalStaff')?.valueInteger, want.S, `S = ${want.S}`);
      t.equal(one(minutes, 'billingPractitioner')?.valueInteger, want.P, `P = ${want.P}`);
      t.equal(one(minutes, 'counted')?.valueInteger, want.S + want.P, `M = ${want.S + want.P}`);
      const lines = params(body, 'line');
      t.equal(lines.length, want.lines.length, `${want.lines.length} line(s), base first`);
      want.lines.forEach((w, i) => {
        const line = lines[i];
        if (!line) return;
        t.same(one(line, 'code')?.valueCoding, { system: CPT, code: w.code }, `line ${i + 1}: ${w.code}`);
        t.equal(one(line, 'units')?.valueInteger, w.units, `${w.code} units`);
        t.equal(one(line, 'minutes')?.valueInteger, w.minutes, `${w.code} stands for ${w.minutes} minutes`);
        const got = params(line, 'entry').map((e) => e.valueReference?.reference ?? '');
        t.equal(got.length, w.entries.length, `${w.code}: ${w.entries.length} entries`);
        // each expected slot lists the acceptable Encounters (E4/E7: EP3 keeps whichever came first)
        w.entries.forEach((alternatives, j) => t.ok(alternatives.map(enc).includes(got[j]), `${w.code} entry ${j + 1} is ${alternatives.join(' or ')}`));
      });
      t.same(params(body, 'reason').map((r) => r.valueCode).sort(), [...want.reasons].sort(), `reasons ${want.reasons.join(', ')}`);
      const explanations = params(body, 'explanation').map((e) => e.valueString ?? '');
      t.ok(explanations.length > 0 && explanations.every((s) => /\((R|EP|D)\d/.test(s)), 'every explanation cites its rules');
    };

    // 4. $ccm-billing, practice time zone UTC (default).
    // EP12: E6 starts 2025-04-01 in UTC -> April work, not March's (however its offset is
    // written, like any entry of another month that duplicates nothing of March, it is not
    // reported as minutes_outside_month); E7 duplicates E4; E8 is another
    // practitioner's; E1 is before the start date max(consent 03-05, visit 03-05) = 03-05; E2 is the
    // practitioner's on the visit day. Left: S = E3 25 + E4 20 = 45, P = E5 18, M = 63.
    // EP13 complex: MDM high (E5), care plan created in March, M = 63 >= 60 -> 99487 x1;
    // 99489 x floor((63 - 60) / 30) = 0 (omitted). 99487 stands for 60 minutes; in date order
    // E3 [0,25), E4 [25,45), E5 [45,63) all reach into [0,60).
    await t.test('$ccm-billing in UTC', async (t) => {
      const res = await fhir('GET', `${B}/${patient}/$ccm-billing?month=${MONTH}`);
      t.equal(res.status, 200);
      checkBilling(t, res.body, {
        S: 45,
        P: 18,
        lines: [{ code: '99487', units: 1, minutes: 60, entries: [['E3'], ['E4', 'E7'], ['E5']] }],
        reasons: ['duplicate_entry_ignored', 'other_practitioner_minutes_excluded', 'minutes_before_start', 'same_day_visit_practitioner_minutes_excluded'],
      });
    });

    // 5. The same with CCM_TIME_ZONE=America/New_York (EP2): E6 is on 2025-03-31 local and counts;
    // every other entry keeps its local date (E1 03-03, E2 03-05, E3 03-10, E5 03-20, E8 03-12).
    // S = 45 + 30 = 75, P = 18, M = 93 -> 99487 x1 (60) + 99489 x floor((93 - 60) / 30) = 1 (30
    // minutes, [60,90): E5 [45,63) and E6 [63,93)).
    await t.test('$ccm-billing with CCM_TIME_ZONE=America/New_York', async (t) => {
      practiceZone(t, 'America/New_York');
      const res = await fhir('GET', `${B}/${patient}/$ccm-billing?month=${MONTH}`);
      t.equal(res.status, 200);
      checkBilling(t, res.body, {
        S: 75,
        P: 18,
        lines: [
          { code: '99487', units: 1, minutes: 60, entries: [['E3'], ['E4', 'E7'], ['E5']] },
          { code: '99489', units: 1, minutes: 30, entries: [['E5'], ['E6']] },
        ],
        reasons: ['duplicate_entry_ignored', 'other_practitioner_minutes_excluded', 'minutes_before_start', 'same_day_visit_practitioner_minutes_excluded'],
      });
    });

    // 6. persist=true (UTC): one billable ChargeItem per line, for the patient and the month.
    await t.test('POST $ccm-billing persist=true writes the 99487 ChargeItem', async (t) => {
      const body = { resourceType: 'Parameters', parameter: [{ name: 'month', valueString: MONTH }, { name: 'patient', valueReference: { reference: patient } }, { name: 'persist', valueBoolean: true }] };
      const res = await fhir('POST', `${B}/$ccm-billing`, body);
      t.equal(res.status, 200);
      const items = await fhir('GET', `${B}/ChargeItem?subject=${patient}`);
      const charges = ((items.body as Bundle).entry ?? []).map((e) => e.resource as Resource & { status: string; code: { coding: Array<{ code: string }> }; quantity?: { value?: number } });
      t.same(
        charges.map((c) => [c.status, c.code.coding[0].code, c.quantity?.value]),
        [['billable', '99487', 1]],
      );
    });
  });
}
