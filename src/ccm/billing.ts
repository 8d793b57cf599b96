// facts -> billing lines + reason keys + explanations ($ccm-billing): gates (EP10), minutes
// (EP12), concurrency blocks (EP11), code selection (EP13/EP14), output (EP16). Pure and
// deterministic: the same facts and options always give the same result.
import { selectCodes } from './code-selection.js';
import type { Program } from './code-table.js';
import type { QualifyingCondition } from './conditions.js';
import { checkConcurrency } from './concurrency.js';
import { inMonth, toLocal } from './dates.js';
import { evaluateGates } from './eligibility.js';
import { decision, type Decision } from './explain.js';
import { checkFacts } from './facts-check.js';
import { sumMinutes } from './minutes.js';
import type { CcmFacts, MdmLevel } from './facts.js';
import { canonicalReasons, type ReasonKey } from './reasons.js';
import { resolveOptions, type EngineOptions, type ResolvedOptions } from './rules.js';
import { countMinutes, type EntryOutcome } from './time-entries.js';

export interface BillingLine {
  code: string;
  system: string;
  units: number;
  /** The minutes this line stands for: the base code's minimum, or units × increment. */
  minutes: number;
  /** Indexes (facts.timeEntries) of the entries whose minutes fall in this line's range, chronologically. */
  entries: number[];
}

export interface BillingResult {
  month: string;
  eligible: boolean;
  program: Program | null;
  /** EP7 choice; null when gates fail or nobody can be chosen. */
  billingPractitioner: string | null;
  lines: BillingLine[];
  /** EP16 keys, canonical order. */
  notBilledReasons: ReasonKey[];
  minutes: { clinicalStaff: number; billingPractitioner: number; counted: number };
  mdm: MdmLevel | null;
  /** Per time entry: counted or the filter that dropped it (empty when gates fail). */
  entries: EntryOutcome[];
  conditions: QualifyingCondition[];
  blocked: boolean;
  decisions: Decision[];
  explanations: string[];
}

/** The billing pipeline on already-checked facts (shared with the worklist). */
export function computeBilling(facts: CcmFacts, opts: ResolvedOptions): BillingResult {
  const gates = evaluateGates(facts, opts);
  const decisions: Decision[] = [...gates.decisions];
  const base = {
    month: facts.month,
    eligible: gates.eligible,
    program: gates.program,
    conditions: gates.conditions,
  };
  const finish = (r: Omit<BillingResult, 'decisions' | 'explanations' | keyof typeof base>): BillingResult => ({
    ...base,
    ...r,
    decisions,
    explanations: decisions.map((d) => d.text),
  });

  if (!gates.eligible || gates.program === null) {
    decisions.push(decision('A gate failed, so no minutes are counted and nothing is billed', { rules: ['EP10', 'EP16'] }));
    return finish({
      billingPractitioner: null,
      lines: [],
      notBilledReasons: gates.notBilledReasons,
      minutes: { clinicalStaff: 0, billingPractitioner: 0, counted: 0 },
      mdm: null,
      entries: [],
      blocked: false,
    });
  }
  const program = gates.program;
  const counted = countMinutes(facts, opts.timeZone);
  decisions.push(...counted.decisions);
  const minutes = { clinicalStaff: counted.staff, billingPractitioner: counted.practitionerMinutes, counted: counted.total };

  const concurrency = checkConcurrency(opts.rules.codes, program, facts.otherServicesInMonth, counted.practitioner.practitioner);
  decisions.push(...concurrency.decisions);
  if (concurrency.blocks.length > 0) {
    return finish({
      billingPractitioner: counted.practitioner.practitioner,
      lines: [],
      notBilledReasons: canonicalReasons(concurrency.blocks),
      minutes,
      mdm: counted.mdm,
      entries: counted.entries,
      blocked: true,
    });
  }

  const plan = facts.carePlan!; // gates passed
  const createdInMonth = inMonth(toLocal(plan.created, opts.timeZone)!.date, facts.month);
  const selection = selectCodes(opts.rules.codes, {
    program,
    year: Number(facts.month.slice(0, 4)),
    staff: counted.staff,
    practitioner: counted.practitionerMinutes,
    mdm: counted.mdm,
    carePlanEstablishedOrRevised: createdInMonth || plan.substantiallyRevisedInMonth,
  });
  decisions.push(...selection.decisions);

  // Entries behind each line: fill the line ranges with the family's entries in date order.
  const pool = counted.countable.filter((e) => selection.family?.minutes !== 'practitioner' || e.performer === 'billing-practitioner');
  const ranges: Array<{ index: number; from: number; to: number }> = [];
  let at = 0;
  for (const e of pool) {
    const to = sumMinutes([at, e.minutes]);
    ranges.push({ index: e.index, from: at, to });
    at = to;
  }
  const lines: BillingLine[] = selection.lines.map((l) => ({
    code: l.code,
    system: l.system,
    units: l.units,
    minutes: l.to - l.from,
    entries: ranges.filter((r) => r.from < l.to && r.to > l.from).map((r) => r.index),
  }));
  if (lines.length > 0) {
    decisions.push(
      decision(`The claim may be submitted once the month's threshold is met, without waiting for month end; the engine reports the month, not a date of service`, {
        rules: ['EP17', 'S2'],
        policy: true,
        unconfirmed: true,
      }),
    );
  }
  return finish({
    billingPractitioner: counted.practitioner.practitioner,
    lines,
    notBilledReasons: canonicalReasons<ReasonKey>([...counted.filterKeys, ...selection.keys]),
    minutes,
    mdm: counted.mdm,
    entries: counted.entries,
    blocked: false,
  });
}

/** `$ccm-billing`: facts -> lines, reasons, explanations. Throws CcmInputError for facts it cannot evaluate. */
export function evaluateBilling(facts: CcmFacts, options: EngineOptions = {}): BillingResult {
  const opts = resolveOptions(options);
  checkFacts(facts, opts.rules.codes, opts.timeZone);
  return computeBilling(facts, opts);
}
