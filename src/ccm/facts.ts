// The engine's input: plain facts for one patient and one service month, exactly EP1 of
// ccm-billing-rules.md. Nothing here knows about FHIR; facts-from-fhir.ts builds these.

export type Performer = 'clinical-staff' | 'billing-practitioner';
export type MdmLevel = 'low' | 'moderate' | 'high';

export interface PatientFacts {
  birthDate?: string | null;
  /** true = Original Medicare Part B (R5). */
  medicare: boolean;
}

export interface ConditionFact {
  code: string;
  system: string;
  display?: string;
  /** Condition.clinicalStatus code (active, recurrence, relapse, inactive, remission, resolved). */
  clinicalStatus: string;
  /** date or dateTime (EP2); partial dates (YYYY, YYYY-MM) allowed. */
  onset?: string;
  abatement?: string;
}

export interface ConsentFact {
  /** date or dateTime of the consent (EP2). */
  date: string;
  /** Practitioner id (the FHIR layer uses `Practitioner/{id}`). */
  billingPractitioner?: string;
}

export interface CarePlanFact {
  status: string;
  /** date or dateTime the plan was established. */
  created: string;
  substantiallyRevisedInMonth: boolean;
}

export interface InitiatingVisitFact {
  /** The most recent qualifying R12 visit by the billing practitioner. */
  date: string;
}

export interface TimeEntryFact {
  /** Dedupe id (EP3); empty or absent = no id. */
  id?: string;
  /** date or dateTime with Z or an offset (EP2). */
  date: string;
  minutes: number;
  performer: Performer;
  complexMdm: MdmLevel | null;
  /**
   * The billing practitioner the work counts for (for staff: the one directing it).
   * null only when nobody is known (no participant and no practitioner on the consent).
   */
  billingPractitioner: string | null;
}

export interface CcmFacts {
  /** Service month, YYYY-MM (D1). */
  month: string;
  patient: PatientFacts;
  conditions: ConditionFact[];
  consent: ConsentFact | null;
  carePlan: CarePlanFact | null;
  initiatingVisit: InitiatingVisitFact | null;
  timeEntries: TimeEntryFact[];
  /** `CODE` (same billing practitioner) or `CODE|PRACTITIONER_ID`, billed in the month. */
  otherServicesInMonth: string[];
}

export interface FactsProblem {
  path: string;
  message: string;
}

/** Facts the engine cannot evaluate (malformed month, date without offset, ...). The operations layer answers 4xx. */
export class CcmInputError extends Error {
  readonly problems: FactsProblem[];
  constructor(problems: FactsProblem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
    this.name = 'CcmInputError';
    this.problems = problems;
  }
}
