// Fetching side of the CCM operations: reads, through the store and the search engine, the
// resources ccm-fhir-contract.md "Facts, one by one" lists for one patient (one query per
// resource type, no N+1) and hands them to the pure engine (factsFromFhir).
import type {
  CarePlan,
  ChargeItem,
  Condition,
  Consent,
  Coverage,
  Encounter,
  Patient,
  Procedure,
  Resource,
} from 'fhir/r4.js';
import { CM_SYSTEM, factsFromFhir, loadCcmRules, referenceTarget, type CcmRules, type EngineOptions, type FactsFromFhir, type PatientResources } from '../ccm/index.js';
import { FhirError, notFound } from '../fhir/errors.js';
import type { Services } from '../rest/services.js';
import { ccmTimeZone } from './ccm-config.js';

/** Most resources one search-based scan reads before it stops (bounded: fine for now). */
export const SCAN_LIMIT = 100_000;
const PAGE = 1000;

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

/** Every current resource of `type` matching `params`, paging through the search engine. */
export async function searchAll<T extends Resource>(s: Services, type: string, params: Array<[string, string]>, limit = SCAN_LIMIT): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page: Array<[string, string]> = [...params, ['_count', String(PAGE)], ['_total', 'none']];
    if (cursor) page.push(['_cursor', cursor]);
    const bundle = await s.search.search(s.store, { types: [type], params: page, path: type });
    for (const e of bundle.entry ?? []) {
      if (e.search?.mode === 'match' && e.resource?.resourceType === type) out.push(e.resource as T);
    }
    const next = bundle.link?.find((l) => l.relation === 'next')?.url;
    if (!next || out.length >= limit) return out;
    const c = new URL(next).searchParams.get('_cursor');
    if (!c || c === cursor) return out;
    cursor = c;
  }
}

async function matches<T extends Resource>(s: Services, type: string, param: string, patientRef: string): Promise<T[]> {
  const rows = await s.search.findMatches(s.store, type, [[param, patientRef]]);
  return rows.map((r) => r.resource).filter((r): r is Resource => r !== undefined) as T[];
}

/** The resources of one patient (throws 404 when the patient does not exist). */
export async function patientResources(s: Services, patientId: string): Promise<PatientResources> {
  const stored = await s.store.read('Patient', patientId);
  if (!stored || stored.deleted || !stored.resource) throw notFound(`Patient/${patientId} is not known to this server`);
  const ref = `Patient/${patientId}`;
  const [coverages, conditions, consents, carePlans, encounters, procedures, chargeItems] = await Promise.all([
    matches<Coverage>(s, 'Coverage', 'beneficiary', ref),
    matches<Condition>(s, 'Condition', 'subject', ref),
    matches<Consent>(s, 'Consent', 'patient', ref),
    matches<CarePlan>(s, 'CarePlan', 'subject', ref),
    matches<Encounter>(s, 'Encounter', 'subject', ref),
    matches<Procedure>(s, 'Procedure', 'subject', ref),
    matches<ChargeItem>(s, 'ChargeItem', 'subject', ref),
  ]);
  return { patient: stored.resource as Patient, coverages, conditions, consents, carePlans, encounters, procedures, chargeItems };
}

export interface PatientFacts extends FactsFromFhir {
  resources: PatientResources;
}

/** Facts of one patient-month (CcmInputError for a month the engine cannot evaluate). */
export async function patientFacts(s: Services, patientId: string, month: string): Promise<PatientFacts> {
  const resources = await patientResources(s, patientId);
  return { ...factsFromFhir(resources, month, ccmOptions(s)), resources };
}

/** As patientFacts, but undefined when the patient does not exist (any more). */
export async function existingPatientFacts(s: Services, patientId: string, month: string): Promise<PatientFacts | undefined> {
  try {
    return await patientFacts(s, patientId, month);
  } catch (err) {
    if (err instanceof FhirError && err.status === 404) return undefined;
    throw err;
  }
}

const idOf = (ref: string | null): string | null => (ref?.startsWith('Patient/') ? ref.slice('Patient/'.length) : null);

/** Sorted ids of the patients some resource of `type` (matching `params`) points to through `element`. */
async function patientIdsFrom(s: Services, type: string, params: Array<[string, string]>, element: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const r of await searchAll<Resource>(s, type, [...params, ['_elements', element]])) {
    const id = idOf(referenceTarget((r as unknown as Record<string, { reference?: string } | undefined>)[element]));
    if (id) ids.add(id);
  }
  return ids;
}

const sorted = (ids: Iterable<string>) => [...ids].sort();

/** Patients with at least one Condition (candidates for eligibility and the worklist), sorted by id. */
export async function patientsWithConditions(s: Services): Promise<string[]> {
  return sorted(await patientIdsFrom(s, 'Condition', [], 'subject'));
}

/** Patients with a care-management time entry or a CCM consent (candidates for system-level billing), sorted by id. */
export async function patientsWithCareManagement(s: Services): Promise<string[]> {
  const time = await patientIdsFrom(s, 'Encounter', [['type', `${CM_SYSTEM}|care-management-time`]], 'subject');
  const consent = await patientIdsFrom(s, 'Consent', [['category', `${CM_SYSTEM}|ccm-consent`]], 'patient');
  return sorted(new Set([...time, ...consent]));
}
