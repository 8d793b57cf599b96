// Builders of plain EP1 facts for engine tests: a CCM patient (hypertension + diabetes) with
// consent, initiating visit and an active care plan, in March 2025, unless a test says otherwise.
import type { CcmFacts, ConditionFact, MdmLevel, TimeEntryFact } from '../../src/ccm/facts.js';

export const P1 = 'Practitioner/p1';
export const P2 = 'Practitioner/p2';

export const hypertension: ConditionFact = { code: 'I10', system: 'http://hl7.org/fhir/sid/icd-10-cm', display: 'Essential hypertension', clinicalStatus: 'active', onset: '2019-04-02' };
export const diabetes: ConditionFact = { code: '44054006', system: 'http://snomed.info/sct', display: 'Diabetes mellitus type 2', clinicalStatus: 'active', onset: '2020-06-11' };

export function facts(over: Partial<CcmFacts> = {}): CcmFacts {
  return {
    month: '2025-03',
    patient: { birthDate: '1950-02-03', medicare: true },
    conditions: [hypertension, diabetes],
    consent: { date: '2025-01-10', billingPractitioner: P1 },
    carePlan: { status: 'active', created: '2025-01-10', substantiallyRevisedInMonth: false },
    initiatingVisit: { date: '2025-01-10' },
    timeEntries: [],
    otherServicesInMonth: [],
    ...over,
  };
}

export function staff(minutes: number, date = '2025-03-10', extra: Partial<TimeEntryFact> = {}): TimeEntryFact {
  return { date, minutes, performer: 'clinical-staff', complexMdm: null, billingPractitioner: P1, ...extra };
}

export function practitioner(minutes: number, date = '2025-03-12', mdm: MdmLevel | null = null, extra: Partial<TimeEntryFact> = {}): TimeEntryFact {
  return { date, minutes, performer: 'billing-practitioner', complexMdm: mdm, billingPractitioner: P1, ...extra };
}

/** One condition only: a PCM patient. */
export const pcmConditions: ConditionFact[] = [hypertension];

export const lineList = (r: { lines: Array<{ code: string; units: number }> }) => r.lines.map((l) => `${l.code}x${l.units}`);
