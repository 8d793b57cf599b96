// The care team's view of a month in progress: what counts so far, what it would bill today,
// how many more minutes reach the next billable threshold, and how many days are left.
// "today" is an input (the practice's local date), never read from a clock.
import { computeBilling } from './billing.js';
import { codeDefinition, type CodeTable, type Program } from './code-table.js';
import { selectCodes, type SelectionInput } from './code-selection.js';
import { isValidDate, monthBounds, toLocal } from './dates.js';
import { checkFacts } from './facts-check.js';
import { CcmInputError, type CcmFacts, type Performer } from './facts.js';
import { roundMinutes, sumMinutes, wholeMinutes } from './minutes.js';
import type { ReasonKey } from './reasons.js';
import { resolveOptions, type EngineOptions } from './rules.js';

export interface WorklistRow {
  /** Caller's patient reference, carried for sorting ties and output. */
  patient?: string;
  month: string;
  today: string;
  eligible: boolean;
  program: Program | null;
  billingPractitioner: string | null;
  /** Countable minutes so far (M). */
  minutesCounted: number;
  /** Lines the month would bill today. */
  billableToday: Array<{ code: string; system: string; units: number }>;
  /** The next billable threshold, in minutes of the family it belongs to (M, or P for practitioner-only codes); null = nothing more to gain. */
  nextThreshold: number | null;
  minutesNeeded: number | null;
  /** The kind of minutes the projection adds: the kind already logged (staff when any, else practitioner), staff for an empty month. */
  assumedPerformer: Performer;
  /** Days left in the month counting today; 0 once the month is over. */
  daysLeft: number;
  notBilledReasons: ReasonKey[];
}

const signature = (lines: Array<{ code: string; units: number }>) => lines.map((l) => `${l.code}x${l.units}`).join(',');

/** Smallest number of added minutes (of one kind) that changes what the month bills; null when none does. */
export function nextThreshold(
  table: CodeTable,
  input: SelectionInput,
  kind: Performer,
): { threshold: number; needed: number } | null {
  const current = signature(selectCodes(table, input).lines);
  const candidates = new Set<number>();
  for (const f of table.programs[input.program].families) {
    const base = codeDefinition(table, f.base);
    const addon = codeDefinition(table, f.addon);
    const first = base.minMinutesFirst ?? 0;
    const have = f.minutes === 'practitioner' ? input.practitioner : sumMinutes([input.staff, input.practitioner]);
    if (f.minutes === 'practitioner' && kind === 'clinical-staff') continue; // staff minutes never reach it
    const inc = addon.incrementMinutes ?? 0;
    const maxUnits = addon.maxUnitsPerMonth ?? Math.max(0, Math.floor((have - first) / Math.max(inc, 1))) + 1;
    for (let k = 0; k <= (inc > 0 ? maxUnits : 0); k++) {
      const needed = roundMinutes(first + k * inc - have);
      if (needed > 0) candidates.add(needed);
    }
  }
  for (const needed of [...candidates].sort((a, b) => a - b)) {
    const next = {
      ...input,
      staff: sumMinutes([input.staff, kind === 'clinical-staff' ? needed : 0]),
      practitioner: sumMinutes([input.practitioner, kind === 'billing-practitioner' ? needed : 0]),
    };
    const selection = selectCodes(table, next);
    if (selection.lines.length > 0 && signature(selection.lines) !== current) return { threshold: selection.basis, needed };
  }
  return null;
}

export function worklistRow(facts: CcmFacts, today: string, options: EngineOptions & { patient?: string } = {}): WorklistRow {
  const opts = resolveOptions(options);
  checkFacts(facts, opts.rules.codes, opts.timeZone);
  if (!isValidDate(today)) throw new CcmInputError([{ path: 'today', message: `"${today}" is not YYYY-MM-DD` }]);
  const { start, end, lastDay } = monthBounds(facts.month);
  if (today < start) throw new CcmInputError([{ path: 'month', message: `${facts.month} has not started on ${today}` }]);
  const daysLeft = today > end ? 0 : lastDay - Number(today.slice(8, 10)) + 1;

  // "So far": entries dated after today cannot have happened yet.
  const soFar: CcmFacts = { ...facts, timeEntries: facts.timeEntries.filter((e) => toLocal(e.date, opts.timeZone)!.date <= today) };
  const billing = computeBilling(soFar, opts);
  const kind: Performer = billing.minutes.clinicalStaff > 0 || billing.minutes.billingPractitioner === 0 ? 'clinical-staff' : 'billing-practitioner';
  let next: { threshold: number; needed: number } | null = null;
  if (billing.eligible && !billing.blocked && billing.program && daysLeft > 0) {
    const plan = soFar.carePlan!;
    const created = toLocal(plan.created, opts.timeZone)!.date;
    next = nextThreshold(
      opts.rules.codes,
      {
        program: billing.program,
        year: Number(facts.month.slice(0, 4)),
        staff: billing.minutes.clinicalStaff,
        practitioner: billing.minutes.billingPractitioner,
        mdm: billing.mdm,
        carePlanEstablishedOrRevised: created.slice(0, 7) === facts.month || plan.substantiallyRevisedInMonth,
      },
      kind,
    );
  }
  const row: WorklistRow = {
    month: facts.month,
    today,
    eligible: billing.eligible,
    program: billing.program,
    billingPractitioner: billing.billingPractitioner,
    // Whole minutes (valueInteger): counted so far rounded down, still needed rounded up.
    minutesCounted: wholeMinutes(billing.minutes.counted),
    billableToday: billing.lines.map((l) => ({ code: l.code, system: l.system, units: l.units })),
    nextThreshold: next ? wholeMinutes(next.threshold) : null,
    minutesNeeded: next ? Math.ceil(next.needed) : null,
    assumedPerformer: kind,
    daysLeft,
    notBilledReasons: billing.notBilledReasons,
  };
  if (options.patient) row.patient = options.patient;
  return row;
}

/** Worklist order: fewest days left, then fewest minutes needed (nothing to gain last), then patient. */
export function compareWorklistRows(a: WorklistRow, b: WorklistRow): number {
  const needed = (r: WorklistRow) => r.minutesNeeded ?? Number.POSITIVE_INFINITY;
  return (
    a.daysLeft - b.daysLeft ||
    (needed(a) === needed(b) ? 0 : needed(a) < needed(b) ? -1 : 1) ||
    ((a.patient ?? '') < (b.patient ?? '') ? -1 : (a.patient ?? '') > (b.patient ?? '') ? 1 : 0)
  );
}

export function sortWorklist(rows: readonly WorklistRow[]): WorklistRow[] {
  return [...rows].sort(compareWorklistRows);
}
