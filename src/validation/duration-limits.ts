import { issue, type Issue } from './issues.js';

/** A minValueDuration/maxValueDuration of an element definition. */
export interface DurationLimit {
  min: boolean;
  duration: Record<string, unknown>;
}

const DATE_TYPES = new Set(['date', 'dateTime', 'instant']);

/**
 * Whether a min/maxValue[x] key is a limit relative to now: ElementDefinition.minValue[x] lets a date,
 * dateTime or instant take "a Duration which specifies a relative time limit to the current time". R4 has
 * no Duration choice, so its JSON says minValueQuantity (Duration is a Quantity); later versions and the
 * HL7 test cases say minValueDuration.
 */
export function isDurationLimit(key: string, types: ReadonlyArray<{ code: string }>): boolean {
  if (key.endsWith('Duration')) return true;
  return key.endsWith('Quantity') && types.length > 0 && types.every((t) => DATE_TYPES.has(t.code));
}

const FIXED_MS: Record<string, number> = { wk: 604_800_000, d: 86_400_000, h: 3_600_000, min: 60_000, s: 1000, ms: 1 };

/**
 * min/maxValueDuration on a date, dateTime or instant, as the Java validator reads them: the bound is
 * the current time minus (min) or plus (max) the duration, e.g. a birthDate no more than 10 years ahead.
 * Kept out of walker.ts: that class's hot methods are sensitive to their size (V8 inlining).
 */
export function checkDurationLimits(limits: readonly DurationLimit[], v: unknown, path: string, issues: Issue[]): void {
  if (typeof v !== 'string') return;
  const when = Date.parse(/^\d{4}$/.test(v) ? `${v}-01-01` : /^\d{4}-\d{2}$/.test(v) ? `${v}-01` : v);
  if (Number.isNaN(when)) return;
  for (const { min, duration } of limits) {
    const amount = duration.value;
    const unit = (duration.code ?? duration.unit) as string | undefined;
    if (typeof amount !== 'number' || !unit) continue;
    const bound = new Date();
    const n = min ? -amount : amount;
    if (unit === 'a') bound.setUTCFullYear(bound.getUTCFullYear() + n);
    else if (unit === 'mo') bound.setUTCMonth(bound.getUTCMonth() + n);
    else if (FIXED_MS[unit] !== undefined) bound.setTime(bound.getTime() + n * FIXED_MS[unit]);
    else continue;
    if (min ? when < bound.getTime() : when > bound.getTime())
      issues.push(issue('error', 'value', path, `The value ${v} is ${min ? 'before the minimum' : 'after the maximum'} allowed (${amount} ${unit} ${min ? 'before' : 'after'} now: ${bound.toISOString().slice(0, 10)})`));
  }
}
