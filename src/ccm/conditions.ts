// Which conditions qualify in the month (D3, EP4) and the program they point to (D4, EP5).
import { categoryOf, type CategoryTable } from './categories.js';
import type { Program } from './code-table.js';
import { monthBounds, toLocalRange } from './dates.js';
import { decision, type Decision } from './explain.js';
import type { ConditionFact } from './facts.js';

const ACTIVE = new Set(['active', 'recurrence', 'relapse']);

export interface QualifyingCondition {
  /** Index in facts.conditions. */
  index: number;
  category: string;
  label: string;
}

export interface ConditionAssessment {
  qualifying: QualifyingCondition[];
  /** Distinct counting categories, sorted. */
  categories: string[];
  program: Program | null;
  decisions: Decision[];
}

/**
 * EP4 activity: onset (if any) on or before month end, and either an abatement on or after month
 * start, or no abatement and an active-like clinical status. Partial dates count as the whole
 * period they name (onset by its first day, abatement by its last).
 */
export function activeInMonth(c: ConditionFact, month: string, timeZone: string): boolean {
  if (c.clinicalStatus === 'entered-in-error') return false;
  const { start, end } = monthBounds(month);
  if (c.onset) {
    const onset = toLocalRange(c.onset, timeZone);
    if (!onset || onset.low > end) return false;
  }
  if (c.abatement) {
    const abatement = toLocalRange(c.abatement, timeZone);
    return abatement !== null && abatement.high >= start;
  }
  return ACTIVE.has(c.clinicalStatus);
}

export function assessConditions(
  conditions: readonly ConditionFact[],
  month: string,
  table: CategoryTable,
  timeZone: string,
): ConditionAssessment {
  const qualifying: QualifyingCondition[] = [];
  const decisions: Decision[] = [];
  conditions.forEach((c, index) => {
    const category = categoryOf(table, c.system, c.code);
    const name = `${c.display ?? c.code} (${c.code})`;
    if (!category) {
      decisions.push(decision(`Condition ${name} maps to no chronic condition category and is ignored`, { rules: ['EP4', 'R2'] }));
      return;
    }
    const label = table.labels.get(category) ?? category;
    if (!table.counting.has(category)) {
      decisions.push(
        decision(`Condition ${name} falls in category ${category}, which does not count toward CCM/PCM by the engine's default table`, {
          rules: ['EP4', 'R2'],
          policy: true,
          unconfirmed: true,
        }),
      );
      return;
    }
    if (!activeInMonth(c, month, timeZone)) {
      decisions.push(decision(`Condition ${name} (${category}) is not active during ${month}`, { rules: ['EP4', 'D3'] }));
      return;
    }
    qualifying.push({ index, category, label });
  });
  const categories = [...new Set(qualifying.map((q) => q.category))].sort();
  const program: Program | null = categories.length >= 2 ? 'CCM' : categories.length === 1 ? 'PCM' : null;
  const list = categories.join(', ');
  if (program === 'CCM') {
    decisions.push(
      decision(
        `${categories.length} distinct qualifying chronic condition categories (${list}) make this a CCM patient; the categories are the engine's default table built on CMS CCW categories, not a CMS list`,
        { rules: ['R1', 'R2', 'D3', 'D4', 'EP5'], policy: true, unconfirmed: true },
      ),
    );
  } else if (program === 'PCM') {
    decisions.push(
      decision(
        `Exactly one qualifying chronic condition category (${list}) makes this a PCM patient; the engine assumes the practitioner attests the R3 high-risk elements, and applies CCM's consent and initiating-visit rules to PCM`,
        { rules: ['R3', 'D4', 'EP5', 'R10', 'R11'], policy: true, unconfirmed: true },
      ),
    );
  } else {
    decisions.push(decision(`No qualifying chronic condition is active in ${month}: no_chronic_conditions`, { rules: ['R1', 'R3', 'EP4', 'EP5', 'EP10'], key: 'no_chronic_conditions' }));
  }
  return { qualifying, categories, program, decisions };
}
