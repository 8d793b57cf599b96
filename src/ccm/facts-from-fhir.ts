// FHIR resources of one patient + a month -> EP1 facts, row by row of ccm-fhir-contract.md
// "Facts, one by one". Pure: the operations layer fetches the resources and calls this. Beside
// the facts it returns where each fact came from (references, index-aligned with the facts'
// arrays) and the resources it had to pass over, with why.
import type {
  CarePlan,
  ChargeItem,
  Coding,
  Condition,
  Consent,
  Coverage,
  Encounter,
  Patient,
  Procedure,
  Reference,
} from 'fhir/r4.js';
import { categoryOf, ICD10CM, SNOMED } from './categories.js';
import { inMonth, monthBounds, toLocal } from './dates.js';
import type { CcmFacts, ConditionFact, MdmLevel, Performer, TimeEntryFact } from './facts.js';
import { roundMinutes } from './minutes.js';
import { resolveOptions, type EngineOptions } from './rules.js';

const CCM = 'https://ccm-fhir.org/fhir';
export const CM_SYSTEM = `${CCM}/CodeSystem/care-management`;
export const CHARGE_IDENTIFIER_SYSTEM = `${CCM}/charge`;
export const REVISION_EXTENSION = `${CCM}/StructureDefinition/care-plan-substantial-revision`;
export const MDM_EXTENSION = `${CCM}/StructureDefinition/mdm-complexity`;
export const CPT = 'http://www.ama-assn.org/go/cpt';
export const HCPCS = 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';
const SOPT = 'urn:oid:2.16.840.1.113883.3.221.5';
const ORIGINAL_MEDICARE = new Set(['1', '12', '121']);
const V3_ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const UCUM = 'http://unitsofmeasure.org';

export interface PatientResources {
  patient: Patient;
  coverages?: Coverage[];
  conditions?: Condition[];
  consents?: Consent[];
  carePlans?: CarePlan[];
  encounters?: Encounter[];
  procedures?: Procedure[];
  chargeItems?: ChargeItem[];
}

export interface FactsSources {
  /** `Patient/{id}` */
  patient: string;
  coverage: string | null;
  /** Aligned with facts.conditions. */
  conditions: string[];
  consent: string | null;
  carePlan: string | null;
  initiatingVisit: string | null;
  /** Aligned with facts.timeEntries. */
  timeEntries: string[];
  /** Aligned with facts.otherServicesInMonth. */
  otherServices: string[];
}

export interface SkippedResource {
  reference: string;
  reason: string;
}

export interface FactsFromFhir {
  facts: CcmFacts;
  sources: FactsSources;
  /** Resources that claimed a CCM role but could not yield their fact, or were excluded by the contract. */
  skipped: SkippedResource[];
}

const refOf = (r: { resourceType: string; id?: string }): string => `${r.resourceType}/${r.id ?? '?'}`;

/** `Type/id` of a reference (relative, absolute URL, with or without _history); null for other forms. */
export function referenceTarget(ref: Reference | undefined): string | null {
  const r = ref?.reference;
  if (!r) return null;
  // Nearly every reference is written exactly `Type/id`: its own target, with no match built.
  if (RELATIVE.test(r)) return r;
  const m = TARGET.exec(r);
  return m ? `${m[1]}/${m[2]}` : null;
}
const RELATIVE = /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/;
const TARGET = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

const practitionerOf = (ref: Reference | undefined): string | null => {
  const target = referenceTarget(ref);
  return target?.startsWith('Practitioner/') ? target : null;
};

const has = (codings: Coding[] | undefined, system: string, code: string) => (codings ?? []).some((c) => c.system === system && c.code === code);
const conceptsHave = (concepts: Array<{ coding?: Coding[] }> | undefined, system: string, code: string) =>
  (concepts ?? []).some((c) => has(c.coding, system, code));

/** Latest by local sort key among values on or before month end; otherwise the earliest after (so gates report "after month"). */
function pickForMonth<T>(items: Array<{ item: T; key: string; date: string }>, monthEnd: string): T | null {
  const sorted = [...items].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const upTo = sorted.filter((i) => i.date <= monthEnd);
  return upTo.length ? upTo[upTo.length - 1].item : sorted.length ? sorted[0].item : null;
}

export function factsFromFhir(resources: PatientResources, month: string, options: EngineOptions = {}): FactsFromFhir {
  const { timeZone, rules } = resolveOptions(options);
  const { start: monthStart, end: monthEnd } = monthBounds(month);
  const patientRef = refOf(resources.patient);
  const isPatient = (ref: Reference | undefined) => referenceTarget(ref) === patientRef;
  const skipped: SkippedResource[] = [];
  const skip = (r: { resourceType: string; id?: string }, reason: string) => skipped.push({ reference: refOf(r), reason });
  const local = (value: string | undefined) => (value ? toLocal(value, timeZone) : null);

  // medicare: an active Original Medicare Part B Coverage overlapping the month.
  const coverage =
    (resources.coverages ?? []).find((c) => {
      if (c.status !== 'active' || !isPatient(c.beneficiary)) return false;
      if (!(c.type?.coding ?? []).some((k) => k.system === SOPT && ORIGINAL_MEDICARE.has(k.code ?? ''))) return false;
      const start = local(c.period?.start);
      const end = local(c.period?.end);
      if (c.period?.start && !start) return false;
      if (c.period?.end && !end) return false;
      return (!start || start.date <= monthEnd) && (!end || end.date >= monthStart);
    }) ?? null;

  // conditions: every Condition of the patient, minus entered-in-error and refuted.
  const conditions: ConditionFact[] = [];
  const conditionRefs: string[] = [];
  for (const c of resources.conditions ?? []) {
    if (!isPatient(c.subject)) continue;
    const verification = c.verificationStatus?.coding?.[0]?.code;
    if (verification === 'entered-in-error' || verification === 'refuted') {
      skip(c, `verificationStatus ${verification} never counts`);
      continue;
    }
    const codings = (c.code?.coding ?? []).filter((k) => (k.system === ICD10CM || k.system === SNOMED) && k.code);
    // Prefer a coding the category map knows, so an unmapped first coding does not hide a mapped one.
    const coding = codings.find((k) => categoryOf(rules.categories, k.system!, k.code!) !== null) ?? codings[0];
    if (!coding) {
      skip(c, 'no ICD-10-CM or SNOMED CT coding');
      continue;
    }
    const fact: ConditionFact = { code: coding.code!, system: coding.system!, clinicalStatus: c.clinicalStatus?.coding?.[0]?.code ?? '' };
    const display = coding.display ?? c.code?.text;
    if (display) fact.display = display;
    const onset = c.onsetDateTime ?? c.onsetPeriod?.start;
    if (onset) fact.onset = onset;
    const abatement = c.abatementDateTime ?? c.abatementPeriod?.end;
    if (abatement) fact.abatement = abatement;
    conditions.push(fact);
    conditionRefs.push(refOf(c));
  }

  // consent: CM ccm-consent, active, or inactive with provision.period.end on/after month start.
  const consentCandidates = (resources.consents ?? []).flatMap((c) => {
    if (!isPatient(c.patient) || !conceptsHave(c.category, CM_SYSTEM, 'ccm-consent')) return [];
    const endOfProvision = local(c.provision?.period?.end);
    const counts = c.status === 'active' || (c.status === 'inactive' && endOfProvision !== null && endOfProvision.date >= monthStart);
    if (!counts) {
      skip(c, `status ${c.status}${c.status === 'inactive' ? ' ended before the month' : ''}: not a consent for this month`);
      return [];
    }
    const date = local(c.dateTime);
    if (!date) {
      skip(c, 'CCM consent without a usable dateTime');
      return [];
    }
    return [{ item: c, key: date.sortKey, date: date.date }];
  });
  const consent = pickForMonth(consentCandidates, monthEnd);
  const consentPractitioner = consent ? ((consent.performer ?? []).map(practitionerOf).find((p) => p !== null) ?? null) : null;

  // care plan: latest-created CarePlan, intent plan, category CM ccm-care-plan.
  const planCandidates = (resources.carePlans ?? []).flatMap((p) => {
    if (!isPatient(p.subject) || p.intent !== 'plan' || !conceptsHave(p.category, CM_SYSTEM, 'ccm-care-plan')) return [];
    if (p.status === 'entered-in-error') {
      skip(p, 'status entered-in-error');
      return [];
    }
    const created = local(p.created);
    if (!created) {
      skip(p, 'CCM care plan without a usable created date');
      return [];
    }
    return [{ item: p, key: created.sortKey, date: created.date }];
  });
  const plan = pickForMonth(planCandidates, monthEnd);
  const revisedInMonth = (plan?.extension ?? []).some((e) => {
    if (e.url !== REVISION_EXTENSION || !e.valueDateTime) return false;
    const d = local(e.valueDateTime);
    return d !== null && inMonth(d.date, month);
  });

  // initiating visit and time entries come from Encounters; other services from all three kinds.
  const encounters = (resources.encounters ?? []).filter((e) => isPatient(e.subject));
  const isTimeEntry = (e: Encounter) => conceptsHave(e.type, CM_SYSTEM, 'care-management-time');
  const visitCodes = rules.codes.initiatingVisit;

  const visitCandidates = encounters.flatMap((e) => {
    if (isTimeEntry(e) || e.status !== 'finished') return [];
    if (!visitCodes.encounterClasses.includes(e.class?.code ?? '') || (e.class?.system !== undefined && e.class.system !== V3_ACT_CODE)) return [];
    const coded = (e.type ?? []).some((t) =>
      (t.coding ?? []).some((k) => (k.system === CPT && visitCodes.cpt.includes(k.code ?? '')) || (k.system === HCPCS && visitCodes.hcpcs.includes(k.code ?? ''))),
    );
    if (!coded) return [];
    // EP1: the visit is the billing practitioner's; a visit naming only other practitioners is not.
    const named = (e.participant ?? []).map((p) => practitionerOf(p.individual)).filter((p): p is string => p !== null);
    if (consentPractitioner && named.length > 0 && !named.includes(consentPractitioner)) return [];
    const date = local(e.period?.start);
    if (!date || date.date > monthEnd) return [];
    return [{ item: e, key: date.sortKey, date: date.date }];
  });
  const visit = pickForMonth(visitCandidates, monthEnd);

  // Time entries: the month's (their local start date in the practice zone, EP2), and, because
  // duplicates are removed before the month filter (EP12, EP3), the entries of other months that
  // share a dedupe id with one of them. The engine then keeps the first of each id wherever it
  // falls, so one piece of work is counted in one month only (R33); entries of other months that
  // duplicate nothing of this month cannot change it and stay out.
  const dedupeId = (e: Encounter): string | undefined => {
    const identifier = e.identifier?.[0];
    return identifier?.value ? `${identifier.system ?? ''}|${identifier.value}` : undefined;
  };
  const dated = encounters.flatMap((e) => {
    if (!isTimeEntry(e) || e.status !== 'finished') return [];
    const start = e.period?.start;
    const startLocal = local(start);
    if (!start || !startLocal) {
      skip(e, 'time entry without a usable period.start');
      return [];
    }
    return [{ e, start, id: dedupeId(e), inMonth: inMonth(startLocal.date, month) }];
  });
  const monthIds = new Set(dated.flatMap((d) => (d.inMonth && d.id !== undefined ? [d.id] : [])));

  const timeEntries: TimeEntryFact[] = [];
  const timeRefs: string[] = [];
  for (const { e, start, id } of dated.filter((d) => d.inMonth || (d.id !== undefined && monthIds.has(d.id)))) {
    const minutes = minutesOf(e);
    if (minutes === null) {
      skip(e, 'time entry without minutes (length in min/h, or period.start and period.end)');
      continue;
    }
    const types = (e.participant ?? []).map((p) => p.type ?? []);
    const typed = (code: string) => (e.participant ?? []).filter((p) => conceptsHave(p.type, CM_SYSTEM, code));
    const performer: Performer | null = types.some((t) => conceptsHave(t, CM_SYSTEM, 'clinical-staff'))
      ? 'clinical-staff'
      : types.some((t) => conceptsHave(t, CM_SYSTEM, 'billing-practitioner'))
        ? 'billing-practitioner'
        : null;
    if (!performer) {
      skip(e, 'time entry without a participant typed clinical-staff or billing-practitioner');
      continue;
    }
    const billingPractitioner = typed('billing-practitioner').map((p) => practitionerOf(p.individual)).find((p) => p !== null) ?? consentPractitioner;
    const mdmValue = (e.extension ?? []).find((x) => x.url === MDM_EXTENSION)?.valueCode;
    const complexMdm: MdmLevel | null = mdmValue === 'low' || mdmValue === 'moderate' || mdmValue === 'high' ? mdmValue : null;
    const entry: TimeEntryFact = { date: start, minutes, performer, complexMdm, billingPractitioner };
    if (id !== undefined) entry.id = id;
    timeEntries.push(entry);
    timeRefs.push(refOf(e));
  }

  // other services: CPT/HCPCS-coded Encounters, Procedures and ChargeItems dated in the month.
  const otherServices: string[] = [];
  const otherRefs: string[] = [];
  const addServices = (r: { resourceType: string; id?: string }, date: string | undefined, codings: Coding[], practitioner: string | null) => {
    const d = local(date);
    if (!d || !inMonth(d.date, month)) return;
    for (const k of codings) {
      if ((k.system !== CPT && k.system !== HCPCS) || !k.code) continue;
      otherServices.push(practitioner ? `${k.code}|${practitioner}` : k.code);
      otherRefs.push(refOf(r));
    }
  };
  const firstPractitioner = (refs: Array<Reference | undefined>) => refs.map(practitionerOf).find((p) => p !== null) ?? null;
  for (const e of encounters) {
    if (isTimeEntry(e) || e.status === 'cancelled' || e.status === 'entered-in-error' || e.status === 'planned') continue;
    addServices(e, e.period?.start, (e.type ?? []).flatMap((t) => t.coding ?? []), firstPractitioner((e.participant ?? []).map((p) => p.individual)));
  }
  for (const p of resources.procedures ?? []) {
    if (!isPatient(p.subject) || p.status === 'not-done' || p.status === 'entered-in-error' || p.status === 'preparation') continue;
    addServices(p, p.performedDateTime ?? p.performedPeriod?.start, p.code?.coding ?? [], firstPractitioner((p.performer ?? []).map((x) => x.actor)));
  }
  for (const c of resources.chargeItems ?? []) {
    if (!isPatient(c.subject)) continue;
    if ((c.identifier ?? []).some((i) => i.system === CHARGE_IDENTIFIER_SYSTEM)) continue; // written by $ccm-billing itself
    if (c.status === 'entered-in-error' || c.status === 'not-billable' || c.status === 'aborted' || c.status === 'planned') continue;
    addServices(c, c.occurrenceDateTime ?? c.occurrencePeriod?.start, c.code?.coding ?? [], firstPractitioner((c.performer ?? []).map((x) => x.actor)));
  }

  const facts: CcmFacts = {
    month,
    patient: { birthDate: resources.patient.birthDate ?? null, medicare: coverage !== null },
    conditions,
    consent: consent ? { date: consent.dateTime!, ...(consentPractitioner ? { billingPractitioner: consentPractitioner } : {}) } : null,
    carePlan: plan ? { status: plan.status, created: plan.created!, substantiallyRevisedInMonth: revisedInMonth } : null,
    initiatingVisit: visit ? { date: visit.period!.start! } : null,
    timeEntries,
    otherServicesInMonth: otherServices,
  };
  return {
    facts,
    sources: {
      patient: patientRef,
      coverage: coverage ? refOf(coverage) : null,
      conditions: conditionRefs,
      consent: consent ? refOf(consent) : null,
      carePlan: plan ? refOf(plan) : null,
      initiatingVisit: visit ? refOf(visit) : null,
      timeEntries: timeRefs,
      otherServices: otherRefs,
    },
    skipped,
  };
}

/** Minutes of a time entry: length in UCUM min or h (as stated, fractions included), else whole minutes from period.start to period.end. */
export function minutesOf(e: Encounter): number | null {
  const len = e.length;
  if (len && typeof len.value === 'number' && (len.system === undefined || len.system === UCUM)) {
    const unit = len.code ?? len.unit;
    // The minutes stated, fractions included (the contract's whole minutes are the period fallback's).
    if (unit === 'min') return len.value >= 0 ? len.value : null;
    if (unit === 'h') return len.value >= 0 ? roundMinutes(len.value * 60) : null;
    return null;
  }
  if (len) return null;
  const start = e.period?.start;
  const end = e.period?.end;
  // Whole minutes need clock times on both ends; date-only periods say nothing about minutes.
  if (!start || !end || !start.includes('T') || !end.includes('T')) return null;
  const s = toLocal(start, 'UTC');
  const f = toLocal(end, 'UTC');
  if (!s || !f || s.instant === null || f.instant === null || f.instant < s.instant) return null;
  return Math.floor((f.instant - s.instant) / 60000);
}
