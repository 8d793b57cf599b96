// Reason keys of EP10, EP11, EP12-EP14 and their canonical listing order (EP16).

export const GATE_KEYS = [
  'not_medicare',
  'no_chronic_conditions',
  'consent_missing',
  'consent_after_month',
  'initiating_visit_missing',
  'initiating_visit_too_old',
  'care_plan_missing',
  'care_plan_not_active',
] as const;

export const BLOCK_KEYS = [
  'apcm_same_month',
  'ccm_billed_by_other_practitioner',
  'pcm_same_month_same_practitioner',
  'excluded_concurrent_service',
] as const;

export const FILTER_KEYS = [
  'minutes_outside_month',
  'duplicate_entry_ignored',
  'other_practitioner_minutes_excluded',
  'minutes_before_start',
  'same_day_visit_practitioner_minutes_excluded',
] as const;

export const SELECTION_KEYS = [
  'insufficient_time',
  'complex_minimum_not_met',
  'complex_mdm_not_met',
  'complex_care_plan_not_revised',
  'unit_cap_applied',
] as const;

export type GateKey = (typeof GATE_KEYS)[number];
export type BlockKey = (typeof BLOCK_KEYS)[number];
export type FilterKey = (typeof FILTER_KEYS)[number];
export type SelectionKey = (typeof SELECTION_KEYS)[number];
export type ReasonKey = GateKey | BlockKey | FilterKey | SelectionKey;

const ORDER: readonly ReasonKey[] = [...GATE_KEYS, ...BLOCK_KEYS, ...FILTER_KEYS, ...SELECTION_KEYS];

/** Distinct keys in EP16 canonical order. */
export function canonicalReasons<K extends ReasonKey>(keys: Iterable<K>): K[] {
  const set = new Set<K>(keys);
  return ORDER.filter((k): k is K => set.has(k as K));
}
