// Billing lines -> ChargeItems for `$ccm-billing` persist=true. Identifier and id are functions of
// (patient, month, code) only, so writing them again (PUT by id, or conditional update on the
// identifier) updates instead of duplicating.
import { createHash } from 'node:crypto';
import type { ChargeItem } from 'fhir/r4.js';
import type { BillingResult } from './billing.js';
import { monthBounds } from './dates.js';
import type { CcmFacts } from './facts.js';
import { CHARGE_IDENTIFIER_SYSTEM, type FactsSources } from './facts-from-fhir.js';

/** `{patient}|{month}|{code}` with the patient's logical id. */
export function chargeIdentifierValue(patient: string, month: string, code: string): string {
  return `${patient.replace(/^Patient\//, '')}|${month}|${code}`;
}

/** A FHIR id (<= 64 chars of [A-Za-z0-9.-]) derived from the identifier. */
export function chargeItemId(patient: string, month: string, code: string): string {
  return `ccm-${createHash('sha256').update(chargeIdentifierValue(patient, month, code)).digest('hex').slice(0, 40)}`;
}

export function chargeItemsFromBilling(result: BillingResult, facts: CcmFacts, sources: FactsSources): ChargeItem[] {
  const { start, end } = monthBounds(result.month);
  const reason = result.conditions.map((c) => {
    const f = facts.conditions[c.index];
    return { coding: [{ system: f.system, code: f.code, ...(f.display ? { display: f.display } : {}) }] };
  });
  return result.lines.map((line) => {
    const item: ChargeItem = {
      resourceType: 'ChargeItem',
      id: chargeItemId(sources.patient, result.month, line.code),
      identifier: [{ system: CHARGE_IDENTIFIER_SYSTEM, value: chargeIdentifierValue(sources.patient, result.month, line.code) }],
      status: 'billable',
      code: { coding: [{ system: line.system, code: line.code }] },
      subject: { reference: sources.patient },
      occurrencePeriod: { start, end },
      quantity: { value: line.units },
    };
    if (result.billingPractitioner) item.performer = [{ actor: { reference: result.billingPractitioner } }];
    if (reason.length) item.reason = reason;
    if (line.entries.length) item.supportingInformation = line.entries.map((i) => ({ reference: sources.timeEntries[i] }));
    return item;
  });
}

/** The value of this server's charge identifier on a ChargeItem, if it has one. */
const ourIdentifier = (c: ChargeItem): string | undefined => (c.identifier ?? []).find((i) => i.system === CHARGE_IDENTIFIER_SYSTEM)?.value;

/**
 * ChargeItems this server wrote earlier for the patient-month whose code is no longer billed,
 * returned as not-billable updates (already billed ones are left alone: a claim went out).
 */
export function chargeItemsToRetire(existing: readonly ChargeItem[], fresh: readonly ChargeItem[], patient: string, month: string): ChargeItem[] {
  const prefix = chargeIdentifierValue(patient, month, '');
  const keep = new Set(fresh.map(ourIdentifier).filter((v) => v !== undefined));
  return existing
    .filter((c) => c.status === 'billable')
    .filter((c) => {
      const ours = ourIdentifier(c);
      return ours !== undefined && ours.startsWith(prefix) && !keep.has(ours);
    })
    .map((c) => ({ ...c, status: 'not-billable' as const }));
}

export interface ChargeItemUpdates {
  /** What to write (PUT by id): the fresh lines not already billed, and the retired ones. */
  writes: ChargeItem[];
  /**
   * One sentence per ChargeItem of the patient-month that is already billed while the month now
   * gives something else for its code (other units or practitioner, or no line at all): it is
   * left as it is, and the answer says so.
   */
  billedNotes: string[];
}

const unitsOf = (c: ChargeItem | undefined) => c?.quantity?.value ?? 0;
const performerOf = (c: ChargeItem | undefined) => c?.performer?.[0]?.actor?.reference ?? null;
const unitText = (n: number) => `${n} ${n === 1 ? 'unit' : 'units'}`;

/**
 * The writes of a persisting run for one patient-month, given the ChargeItems stored for the
 * patient and the fresh ones from the engine. A ChargeItem the billing system has marked
 * `billed` is never rewritten, neither back to billable nor to not-billable: the claim went out,
 * and reopening it would invite a second claim for the same month. When the month now gives a
 * different answer for that code, it stays as billed and the difference is reported instead.
 */
export function chargeItemUpdates(existing: readonly ChargeItem[], fresh: readonly ChargeItem[], patient: string, month: string): ChargeItemUpdates {
  const prefix = chargeIdentifierValue(patient, month, '');
  const billed = new Map<string, ChargeItem>();
  for (const c of existing) {
    const ours = ourIdentifier(c);
    if (c.status === 'billed' && ours !== undefined && ours.startsWith(prefix)) billed.set(ours, c);
  }
  const billedNotes: string[] = [];
  for (const [value, c] of billed) {
    const code = value.slice(prefix.length);
    const now = fresh.find((f) => ourIdentifier(f) === value);
    const was = `${code} of ${month} is already billed (ChargeItem/${c.id ?? '?'}, ${unitText(unitsOf(c))}${performerOf(c) ? ` by ${performerOf(c)}` : ''})`;
    const differences: string[] = [];
    if (!now) differences.push(`the month no longer bills ${code}`);
    else {
      if (unitsOf(now) !== unitsOf(c)) differences.push(`the month now gives ${unitText(unitsOf(now))}`);
      if (performerOf(now) !== performerOf(c)) differences.push(`the month now bills it for ${performerOf(now) ?? 'no named practitioner'}`);
    }
    if (differences.length === 0) continue;
    billedNotes.push(
      `${was} and is left as it is, although ${differences.join(' and ')}: a billed charge is never reopened or retired by a re-run, so correct the claim in the billing system [server policy, not a Medicare rule].`,
    );
  }
  const writes = [...fresh.filter((f) => !billed.has(ourIdentifier(f) ?? '')), ...chargeItemsToRetire(existing, fresh, patient, month)];
  return { writes, billedNotes };
}
