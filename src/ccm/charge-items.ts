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

/**
 * ChargeItems this server wrote earlier for the patient-month whose code is no longer billed,
 * returned as not-billable updates (already billed ones are left alone: a claim went out).
 */
export function chargeItemsToRetire(existing: readonly ChargeItem[], fresh: readonly ChargeItem[], patient: string, month: string): ChargeItem[] {
  const prefix = chargeIdentifierValue(patient, month, '');
  const keep = new Set(fresh.flatMap((c) => (c.identifier ?? []).filter((i) => i.system === CHARGE_IDENTIFIER_SYSTEM).map((i) => i.value)));
  return existing
    .filter((c) => c.status === 'billable')
    .filter((c) => {
      const ours = (c.identifier ?? []).find((i) => i.system === CHARGE_IDENTIFIER_SYSTEM);
      return ours?.value !== undefined && ours.value.startsWith(prefix) && !keep.has(ours.value);
    })
    .map((c) => ({ ...c, status: 'not-billable' as const }));
}
