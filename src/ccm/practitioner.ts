// EP7 (R36): who bills the month. The consent's practitioner when named; otherwise the one with
// the most in-month minutes, then the earliest entry, then the lowest id (string order).
import { sumMinutes } from './minutes.js';

export interface PractitionerCandidateEntry {
  billingPractitioner: string | null;
  minutes: number;
  sortKey: string;
}

export interface PractitionerChoice {
  /** null = nobody known (no consent practitioner, no named practitioner on any entry). */
  practitioner: string | null;
  source: 'consent' | 'most-minutes' | 'none';
  /** Minutes per named practitioner, for the explanation. */
  tally: Array<{ practitioner: string; minutes: number }>;
}

export function choosePractitioner(consentPractitioner: string | undefined, entries: readonly PractitionerCandidateEntry[]): PractitionerChoice {
  const tally = new Map<string, { minutes: number; earliest: string }>();
  for (const e of entries) {
    if (e.billingPractitioner === null) continue;
    const t = tally.get(e.billingPractitioner) ?? { minutes: 0, earliest: e.sortKey };
    t.minutes = sumMinutes([t.minutes, e.minutes]);
    if (e.sortKey < t.earliest) t.earliest = e.sortKey;
    tally.set(e.billingPractitioner, t);
  }
  const ranked = [...tally.entries()].sort(
    ([a, x], [b, y]) => y.minutes - x.minutes || (x.earliest < y.earliest ? -1 : x.earliest > y.earliest ? 1 : 0) || (a < b ? -1 : a > b ? 1 : 0),
  );
  const list = ranked.map(([practitioner, t]) => ({ practitioner, minutes: t.minutes }));
  if (consentPractitioner) return { practitioner: consentPractitioner, source: 'consent', tally: list };
  // Entries that name nobody can only stand on their own when no entry names anybody.
  if (ranked.length === 0) return { practitioner: null, source: 'none', tally: list };
  return { practitioner: ranked[0][0], source: 'most-minutes', tally: list };
}
