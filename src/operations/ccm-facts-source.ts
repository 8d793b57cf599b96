// Fetching side of the CCM operations: reads, through the store and the search engine, the
// resources ccm-fhir-contract.md "Facts, one by one" lists for one patient or a chunk of patients
// (one query per resource type, no N+1) and hands them to the pure engine (factsFromFhir).
import type { ChargeItem, Patient, Resource } from 'fhir/r4.js';
import { factsFromFhir, loadCcmRules, referenceTarget, type CcmRules, type EngineOptions, type FactsFromFhir, type PatientResources } from '../ccm/index.js';
import { notFound } from '../fhir/errors.js';
import type { Services } from '../rest/services.js';
import type { Sort } from '../store/port.js';
import { ccmTimeZone } from './ccm-config.js';

let rulesCache: { dir: string; rules: CcmRules } | undefined;

/** The CCM rules, loaded once per profiles folder. */
export function ccmRules(s: Services): CcmRules {
  const dir = s.config.profilesDir;
  if (!rulesCache || rulesCache.dir !== dir) rulesCache = { dir, rules: loadCcmRules({ profilesDir: dir }) };
  return rulesCache.rules;
}

/** Engine options of this server: the rules, the practice time zone (CCM_TIME_ZONE, default UTC). */
export function ccmOptions(s: Services): EngineOptions & { timeZone: string } {
  return { rules: ccmRules(s), timeZone: ccmTimeZone() };
}

/** In lastUpdated order: both the one-patient and the many-patient path hand the engine the same lists. */
const LU_ORDER: Sort = [
  ['lu', 1],
  ['id', 1],
];

/**
 * Every current resource of `type` whose `param` points at one of `refs`: the search engine's
 * filter run by the store itself (no page limit: a patient may have thousands of time entries).
 */
async function referencing(s: Services, type: string, param: string, refs: readonly string[]): Promise<Resource[]> {
  const filter = await s.search.filterFor(s.store, type, [[param, refs.join(',')]]);
  const rows = await s.store.find({ types: [type], filter, sort: LU_ORDER });
  return rows.map((r) => r.resource).filter((r): r is Resource => r !== undefined);
}

/** Where each fact-bearing type points at its patient: the search parameter and the element. */
const PATIENT_LINKS: Array<[type: string, param: string, element: string, key: keyof Omit<PatientResources, 'patient'>]> = [
  ['Coverage', 'beneficiary', 'beneficiary', 'coverages'],
  ['Condition', 'subject', 'subject', 'conditions'],
  ['Consent', 'patient', 'patient', 'consents'],
  ['CarePlan', 'subject', 'subject', 'carePlans'],
  ['Encounter', 'subject', 'subject', 'encounters'],
  ['Procedure', 'subject', 'subject', 'procedures'],
  ['ChargeItem', 'subject', 'subject', 'chargeItems'],
];

const noResources = (patient: Patient): PatientResources => ({ patient, coverages: [], conditions: [], consents: [], carePlans: [], encounters: [], procedures: [], chargeItems: [] });

/** The resources of one patient (throws 404 when the patient does not exist). */
export async function patientResources(s: Services, patientId: string): Promise<PatientResources> {
  const stored = await s.store.read('Patient', patientId);
  if (!stored || stored.deleted || !stored.resource) throw notFound(`Patient/${patientId} is not known to this server`);
  const out = noResources(stored.resource as Patient);
  const ref = [`Patient/${patientId}`];
  await Promise.all(
    PATIENT_LINKS.map(async ([type, param, , key]) => {
      (out[key] as Resource[]) = await referencing(s, type, param, ref);
    }),
  );
  return out;
}

/**
 * Facts of one patient-month, plus of the resources they came from only the patient's stored
 * ChargeItems (which a persisting $ccm-billing may retire): a page of patients keeps these, not
 * every resource read for them.
 */
export interface PatientFacts extends FactsFromFhir {
  chargeItems: ChargeItem[];
}

/** Facts of one patient-month (CcmInputError for a month the engine cannot evaluate). */
export async function patientFacts(s: Services, patientId: string, month: string): Promise<PatientFacts> {
  return factsOf(s, await patientResources(s, patientId), month);
}

/**
 * The resources of many patients read together: one query per resource type for all of them
 * (`subject=Patient/a,Patient/b,...`), grouped by patient. A month over all patients then costs a
 * bounded number of passes per chunk of patients instead of one per patient and type. Patients
 * that do not exist (any more) are absent from the map.
 */
export async function patientsResources(s: Services, ids: readonly string[]): Promise<Map<string, PatientResources>> {
  const byId = new Map<string, PatientResources>();
  for (const p of await s.store.readMany(ids.map((x) => `Patient/${x}`))) {
    if (!p.resource) continue;
    byId.set(p.id, noResources(p.resource as Patient));
  }
  const refs = [...byId.keys()].map((x) => `Patient/${x}`);
  if (!refs.length) return byId;
  await Promise.all(
    PATIENT_LINKS.map(async ([type, param, element, key]) => {
      for (const r of await referencing(s, type, param, refs)) {
        const ref = (r as unknown as Record<string, { reference?: string } | undefined>)[element];
        const target = idOf(referenceTarget(ref));
        const bucket = target ? byId.get(target) : undefined;
        if (bucket) (bucket[key] as Resource[]).push(r);
      }
    }),
  );
  return byId;
}

/** Facts of one patient-month from resources already read (CcmInputError for a month the engine cannot evaluate). */
export const factsOf = (s: Services, resources: PatientResources, month: string): PatientFacts => ({
  ...factsFromFhir(resources, month, ccmOptions(s)),
  chargeItems: resources.chargeItems ?? [],
});

const idOf = (ref: string | null): string | null => (ref?.startsWith('Patient/') ? ref.slice('Patient/'.length) : null);
