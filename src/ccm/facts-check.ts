// Refuses facts the engine cannot evaluate deterministically, naming every problem at once,
// instead of guessing (a date-time without offset has no local date, EP2).
import type { CodeTable } from './code-table.js';
import { isValidMonth, isValidTimeZone, toLocal, toLocalRange } from './dates.js';
import { CcmInputError, type CcmFacts, type FactsProblem } from './facts.js';

const PERFORMERS = new Set(['clinical-staff', 'billing-practitioner']);
const MDM = new Set(['low', 'moderate', 'high']);

export function checkFacts(facts: CcmFacts, codes: CodeTable, timeZone: string): void {
  const problems: FactsProblem[] = [];
  const bad = (path: string, message: string) => problems.push({ path, message });
  const date = (path: string, value: string | undefined | null, partialAllowed = false) => {
    if (value === undefined || value === null) return;
    const ok = partialAllowed ? toLocalRange(value, 'UTC') : toLocal(value, 'UTC');
    if (!ok) bad(path, `"${value}" is not a date or a date-time with Z or an offset`);
  };

  if (!isValidTimeZone(timeZone)) bad('timeZone', `unknown time zone "${timeZone}"`);
  if (!isValidMonth(facts.month)) bad('month', `"${facts.month}" is not YYYY-MM`);
  else if (!codes.coveredYears.includes(Number(facts.month.slice(0, 4)))) {
    bad('month', `the rules data covers calendar years ${codes.coveredYears.join(', ')} only`);
  }
  if (typeof facts.patient?.medicare !== 'boolean') bad('patient.medicare', 'must be true or false');
  facts.conditions.forEach((c, i) => {
    date(`conditions[${i}].onset`, c.onset, true);
    date(`conditions[${i}].abatement`, c.abatement, true);
  });
  if (facts.consent) date('consent.date', facts.consent.date);
  if (facts.consent && !facts.consent.date) bad('consent.date', 'required');
  if (facts.carePlan) date('carePlan.created', facts.carePlan.created);
  if (facts.carePlan && !facts.carePlan.created) bad('carePlan.created', 'required');
  if (facts.initiatingVisit) date('initiatingVisit.date', facts.initiatingVisit.date);
  facts.timeEntries.forEach((e, i) => {
    date(`timeEntries[${i}].date`, e.date);
    if (!e.date) bad(`timeEntries[${i}].date`, 'required');
    if (typeof e.minutes !== 'number' || !Number.isFinite(e.minutes) || e.minutes < 0) bad(`timeEntries[${i}].minutes`, 'must be a number >= 0');
    if (!PERFORMERS.has(e.performer)) bad(`timeEntries[${i}].performer`, 'must be clinical-staff or billing-practitioner');
    if (e.complexMdm !== null && e.complexMdm !== undefined && !MDM.has(e.complexMdm)) bad(`timeEntries[${i}].complexMdm`, 'must be low, moderate, high or null');
  });
  if (problems.length) throw new CcmInputError(problems);
}
