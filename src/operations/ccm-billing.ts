// $ccm-billing (OperationDefinition ccm-billing): Patient/{id}/$ccm-billing, [base]/$ccm-billing
// (one `patient` part per patient with care-management time or a qualifying consent in the month,
// paged) and POST [base]/$ccm-billing (month, patient*, persist) which, with persist=true, writes
// one ChargeItem per line idempotently (deterministic ids, PUT semantics): in one transaction per
// chunk of patients where the store has transactions, else one ChargeItem per unit of work.
import type { ChargeItem, Parameters, ParametersParameter } from 'fhir/r4.js';
import {
  billingParts,
  chargeItemsFromBilling,
  chargeItemsToRetire,
  chargeItemUpdates,
  evaluateBilling,
  monthBounds,
  patientPart,
  toLocal,
  type BillingResult,
  type ChargeItemUpdates,
} from '../ccm/index.js';
import { prepare, type Prepared } from '../rest/prepare.js';
import type { RestResult } from '../rest/result.js';
import type { Services } from '../rest/services.js';
import { updateIn } from '../rest/write-ops.js';
import { VersionConflict } from '../store/port.js';
import { billingSources, candidatePatients, chargedSources } from './ccm-candidates.js';
import { ccmGuard, checkMonth, chunksOf, DEFAULT_PAGE_SIZE, existingFactsOf, nextParameter, pageOver, readInput, today } from './ccm-common.js';
import { ccmOptions, patientFacts, type PatientFacts } from './ccm-facts-source.js';
import type { Operation, OperationCall } from './operation.js';

export const CCM_BILLING_DEFINITION = 'https://ccm-fhir.org/fhir/OperationDefinition/ccm-billing';

const INSTANCE_GET = new Set(['month']);
const INSTANCE_POST = new Set(['month', 'persist']);
const SYSTEM_GET = new Set(['month', '_count', '_page']);
const SYSTEM_POST = new Set(['month', 'patient', 'persist']);

export interface PatientBilling {
  patient: string;
  found: PatientFacts;
  result: BillingResult;
  /** What persist=true writes, and the billed ChargeItems it leaves although the month now differs. */
  charges: ChargeItemUpdates;
}

async function billingOf(s: Services, found: PatientFacts): Promise<PatientBilling> {
  const result = await ccmGuard(() => evaluateBilling(found.facts, ccmOptions(s)), found.sources.patient);
  const fresh = chargeItemsFromBilling(result, found.facts, found.sources);
  const charges = chargeItemUpdates(found.chargeItems, fresh, found.sources.patient, result.month);
  return { patient: found.sources.patient, found, result, charges };
}

/** A patient's answer: the engine's parts, then one explanation per billed ChargeItem left as it is. */
const answerParts = (b: PatientBilling): ParametersParameter[] => [
  ...billingParts(b.result, b.found.sources),
  ...b.charges.billedNotes.map((text) => ({ name: 'explanation', valueString: text })),
];

/** "care-management time or a qualifying consent in the month" (system level). */
function hasCareManagementInMonth(s: Services, found: PatientFacts, month: string): boolean {
  if (found.facts.timeEntries.length > 0) return true;
  const consent = found.facts.consent;
  if (!consent) return false;
  const local = toLocal(consent.date, ccmOptions(s).timeZone);
  return local !== null && local.date <= monthBounds(month).end;
}

/** The ChargeItems to write for these patients (fresh lines not already billed, retired ones), validated before anything is written. */
function chargeItemWrites(s: Services, billings: readonly PatientBilling[]): Prepared[] {
  const writes: ChargeItem[] = billings.flatMap((b) => b.charges.writes);
  return writes.map((item) => prepare(s, item));
}

/** Patients per page of POST over all patients: their ChargeItems are written together (their resources are read READ_CHUNK at a time, see ccm-common.ts). */
const CHUNK = 100;
/** Attempts at one ChargeItem that a concurrent writer keeps moving on. */
const ATTEMPTS = 3;

/**
 * Writes the ChargeItems (PUT by deterministic id: unchanged content is not rewritten). With
 * transactions, all of them in one. Without (FerretDB, standalone MongoDB), one ChargeItem per
 * unit of work: each write is whole or absent, and as ids and contents are functions of the
 * stored facts, running the same request again writes what is missing and changes nothing else.
 */
async function persist(s: Services, billings: readonly PatientBilling[]): Promise<void> {
  const prepared = chargeItemWrites(s, billings);
  if (!prepared.length) return;
  if (s.store.capabilities.transactions) {
    await s.store.transact(async (tx) => {
      for (const p of prepared) await updateIn(tx, p, p.resource.id!);
    });
    return;
  }
  for (const p of prepared) {
    for (let attempt = 1; ; attempt++) {
      try {
        await s.store.transact((tx) => updateIn(tx, p, p.resource.id!));
        break;
      } catch (err) {
        // Another writer got there first: read again and compare (same content = nothing to do).
        if (!(err instanceof VersionConflict) || attempt >= ATTEMPTS) throw err;
      }
    }
  }
}

const billingPart = (b: PatientBilling): ParametersParameter => patientPart(b.patient, answerParts(b));

function patientsParameters(month: string, parts: readonly ParametersParameter[]): Parameters {
  return { resourceType: 'Parameters', parameter: [{ name: 'month', valueString: month }, ...parts] };
}

async function instanceLevel(s: Services, call: OperationCall, id: string): Promise<RestResult> {
  const input = readInput(call, call.method === 'POST' ? INSTANCE_POST : INSTANCE_GET);
  const month = checkMonth(s, input.month, today());
  const found = await ccmGuard(() => patientFacts(s, id, month), `Patient/${id}`);
  const billing = await billingOf(s, found);
  if (input.persist) await persist(s, [billing]);
  const body: Parameters = { resourceType: 'Parameters', parameter: answerParts(billing) };
  return { status: 200, body };
}

async function systemGet(s: Services, call: OperationCall): Promise<RestResult> {
  const input = readInput(call, SYSTEM_GET);
  const month = checkMonth(s, input.month, today(), true);
  const page = await pageOver(
    (after) => candidatePatients(s, billingSources(month), after),
    input.count ?? DEFAULT_PAGE_SIZE,
    input.page,
    (ids) => billingsOf(s, ids, month),
  );
  const extra = page.next ? [nextParameter(s, '$ccm-billing', call.query, page.next)] : [];
  return { status: 200, body: patientsParameters(month, [...page.items.map(billingPart), ...extra]) };
}

/** Billing of each candidate of a chunk, read together; undefined where there is nothing to bill this month. */
async function billingsOf(s: Services, ids: readonly string[], month: string): Promise<Array<PatientBilling | undefined>> {
  return (await billingsToPersist(s, ids, month, false)).map((b) => (b?.listed ? b.billing : undefined));
}

/**
 * Billing of each candidate of a chunk; `listed` when the patient has care-management time or a
 * qualifying consent in the month (the answer's patients). With `retiring`, a patient who is not
 * listed but still has a billable ChargeItem of ours for the month is billed too, unlisted, so
 * that persisting retires that charge as the one-patient path does.
 */
async function billingsToPersist(
  s: Services,
  ids: readonly string[],
  month: string,
  retiring: boolean,
): Promise<Array<{ billing: PatientBilling; listed: boolean } | undefined>> {
  const out: Array<{ billing: PatientBilling; listed: boolean } | undefined> = [];
  for (const found of await existingFactsOf(s, ids, month)) {
    const listed = found !== undefined && hasCareManagementInMonth(s, found, month);
    const stale = retiring && found !== undefined && !listed && chargeItemsToRetire(found.chargeItems, [], found.sources.patient, month).length > 0;
    out.push(found && (listed || stale) ? { billing: await billingOf(s, found), listed } : undefined);
  }
  return out;
}

async function systemPost(s: Services, call: OperationCall): Promise<RestResult> {
  const input = readInput(call, SYSTEM_POST);
  const month = checkMonth(s, input.month, today(), true);
  if (input.patients.length) {
    // Listed patients: every one must exist (404 before anything is written).
    const billings: PatientBilling[] = [];
    for (const id of [...new Set(input.patients)]) billings.push(await billingOf(s, await ccmGuard(() => patientFacts(s, id, month), `Patient/${id}`)));
    if (input.persist) await persist(s, billings);
    return { status: 200, body: patientsParameters(month, billings.map(billingPart)) };
  }
  // Every candidate, a chunk at a time: its resources are read, billed, written and let go; the
  // answer keeps only the parts.
  // Persisting, patients holding a ChargeItem of ours for the month are candidates too: one who
  // is no longer listed gets their billable charges retired (but is not listed in the answer).
  const parts: ParametersParameter[] = [];
  const sources = input.persist ? [...billingSources(month), ...chargedSources(month)] : billingSources(month);
  for await (const ids of chunksOf(candidatePatients(s, sources), CHUNK)) {
    const billings = (await billingsToPersist(s, ids, month, input.persist === true)).filter((b) => b !== undefined);
    if (input.persist) await persist(s, billings.map((b) => b.billing));
    parts.push(...billings.filter((b) => b.listed).map((b) => billingPart(b.billing)));
  }
  return { status: 200, body: patientsParameters(month, parts) };
}

export const ccmBillingOperation: Operation = {
  name: 'ccm-billing',
  definition: CCM_BILLING_DEFINITION,
  system: true,
  types: ['Patient'],
  instanceLevel: true,
  methods: ['GET', 'POST'],
  async run(s, call): Promise<RestResult> {
    if (call.id !== undefined) return instanceLevel(s, call, call.id);
    return call.method === 'POST' ? systemPost(s, call) : systemGet(s, call);
  },
};
