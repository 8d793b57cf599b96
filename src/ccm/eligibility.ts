// facts -> eligibility: the EP10 gates, in order, and the program (EP5). Gates never look at
// time entries; every failing gate is reported.
import type { Program } from './code-table.js';
import { assessConditions, type QualifyingCondition } from './conditions.js';
import { monthBounds, oneYearBefore, toLocal } from './dates.js';
import { decision, type Decision } from './explain.js';
import { checkFacts } from './facts-check.js';
import type { CcmFacts } from './facts.js';
import type { GateKey } from './reasons.js';
import { canonicalReasons } from './reasons.js';
import { resolveOptions, type EngineOptions, type ResolvedOptions } from './rules.js';

export interface EligibilityResult {
  month: string;
  eligible: boolean;
  /** From the conditions alone (EP5), reported even when another gate fails. */
  program: Program | null;
  /** Failing EP10 gate keys, canonical order. */
  notBilledReasons: GateKey[];
  conditions: QualifyingCondition[];
  categories: string[];
  decisions: Decision[];
  /** One sentence per decision. */
  explanations: string[];
}

/** Gates on already-checked facts; shared with billing. */
export function evaluateGates(facts: CcmFacts, opts: ResolvedOptions): EligibilityResult {
  const { timeZone, rules } = opts;
  const { end } = monthBounds(facts.month);
  const failed: GateKey[] = [];
  const decisions: Decision[] = [];
  const gate = (ok: boolean, key: GateKey, pass: string, fail: string, rulesIds: string[], extra: { unconfirmed?: boolean; policy?: boolean } = {}) => {
    if (!ok) failed.push(key);
    decisions.push(decision(ok ? pass : `${fail}: ${key}`, { rules: rulesIds, ...(ok ? {} : { key }), ...extra }));
  };

  gate(
    facts.patient.medicare === true,
    'not_medicare',
    'The patient has Original Medicare Part B coverage for the month',
    'The patient has no Original Medicare Part B coverage for the month',
    ['R5', 'EP10'],
  );

  const conditions = assessConditions(facts.conditions, facts.month, rules.categories, timeZone);
  decisions.push(...conditions.decisions);
  if (conditions.program === null) failed.push('no_chronic_conditions');

  const consentDate = facts.consent ? toLocal(facts.consent.date, timeZone)!.date : null;
  if (consentDate === null) {
    gate(false, 'consent_missing', '', 'No documented CCM/PCM consent', ['R7', 'R9', 'EP10']);
  } else {
    gate(
      consentDate <= end,
      'consent_after_month',
      `Consent documented on ${consentDate}; consent is needed once, with no annual renewal`,
      `Consent is dated ${consentDate}, after the month ends`,
      ['R7', 'R9', 'EP10'],
    );
  }

  const visitDate = facts.initiatingVisit ? toLocal(facts.initiatingVisit.date, timeZone)!.date : null;
  if (visitDate === null || visitDate > end) {
    gate(
      false,
      'initiating_visit_missing',
      '',
      visitDate === null ? 'No qualifying initiating visit by the billing practitioner' : `The initiating visit (${visitDate}) is after the month ends`,
      ['R11', 'R12', 'EP10'],
    );
  } else if (consentDate !== null) {
    const earliest = oneYearBefore(consentDate);
    gate(
      visitDate >= earliest,
      'initiating_visit_too_old',
      `Initiating visit on ${visitDate}, within the year before consent (not before ${earliest})`,
      `The last qualifying visit (${visitDate}) is more than a year before consent (${consentDate})`,
      ['R11', 'R12', 'EP10'],
    );
  } else {
    decisions.push(decision(`Initiating visit on ${visitDate}; its age is not judged without a consent date`, { rules: ['R11', 'EP10'] }));
  }

  const plan = facts.carePlan;
  const planCreated = plan ? toLocal(plan.created, timeZone)!.date : null;
  if (plan === null || planCreated === null || planCreated > end) {
    gate(
      false,
      'care_plan_missing',
      '',
      planCreated === null ? 'No care plan on record' : `The care plan was created on ${planCreated}, after the month ends`,
      ['R15', 'EP10'],
    );
  } else {
    gate(
      plan.status === 'active',
      'care_plan_not_active',
      `A care plan created on ${planCreated} is active`,
      `The care plan's status is ${plan.status}, not active`,
      ['R15', 'EP10'],
    );
  }

  const notBilledReasons = canonicalReasons(failed);
  return {
    month: facts.month,
    eligible: notBilledReasons.length === 0,
    program: conditions.program,
    notBilledReasons,
    conditions: conditions.qualifying,
    categories: conditions.categories,
    decisions,
    explanations: decisions.map((d) => d.text),
  };
}

/** `$ccm-eligibility`: facts -> eligibility (EP10, EP5). Throws CcmInputError for facts it cannot evaluate. */
export function evaluateEligibility(facts: CcmFacts, options: EngineOptions = {}): EligibilityResult {
  const opts = resolveOptions(options);
  checkFacts(facts, opts.rules.codes, opts.timeZone);
  return evaluateGates(facts, opts);
}
