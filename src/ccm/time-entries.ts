// Which minutes count (D2): the EP12 filter chain — dates (EP2) -> duplicates (EP3) -> service
// month -> practitioner (EP7) -> start date (EP6) -> same-day visit (EP9) — then S, P, M and the
// month's MDM (EP8). Every entry keeps the reason it was dropped, for traceability.
import { inMonth, maxDate, toLocal } from './dates.js';
import { decision, plural, type Decision } from './explain.js';
import type { CcmFacts, MdmLevel, Performer } from './facts.js';
import { choosePractitioner, type PractitionerChoice } from './practitioner.js';
import { sumMinutes } from './minutes.js';
import type { FilterKey } from './reasons.js';

export interface EntryOutcome {
  /** Index in facts.timeEntries. */
  index: number;
  localDate: string;
  sortKey: string;
  minutes: number;
  performer: Performer;
  billingPractitioner: string | null;
  counted: boolean;
  droppedBy?: FilterKey;
}

export interface CountedMinutes {
  entries: EntryOutcome[];
  /** Countable entries in chronological order. */
  countable: EntryOutcome[];
  practitioner: PractitionerChoice;
  /** max(consent, initiating visit) local date; null when either is missing. */
  start: string | null;
  staff: number;
  practitionerMinutes: number;
  total: number;
  mdm: MdmLevel | null;
  filterKeys: FilterKey[];
  decisions: Decision[];
}

const MDM_RANK: Record<MdmLevel, number> = { low: 1, moderate: 2, high: 3 };

export function countMinutes(facts: CcmFacts, timeZone: string): CountedMinutes {
  // Each entry's instant, read once here for the duplicate check below.
  const instants: Array<number | null> = [];
  const entries: EntryOutcome[] = facts.timeEntries.map((e, index) => {
    const local = toLocal(e.date, timeZone)!; // checked by checkFacts
    instants.push(local.instant);
    return {
      index,
      localDate: local.date,
      sortKey: local.sortKey,
      minutes: e.minutes,
      performer: e.performer,
      billingPractitioner: e.billingPractitioner ?? null,
      counted: true,
    };
  });
  const decisions: Decision[] = [];
  const filterKeys: FilterKey[] = [];
  const drop = (key: FilterKey, which: EntryOutcome[], sentence: (n: string) => string, rules: string[], flags: { policy?: boolean; unconfirmed?: boolean } = {}) => {
    if (which.length === 0) return;
    for (const e of which) {
      e.counted = false;
      e.droppedBy = key;
    }
    filterKeys.push(key);
    const minutes = sumMinutes(which.map((e) => e.minutes));
    decisions.push(decision(sentence(`${plural(which.length, 'time entry')} (${plural(minutes, 'minute')})`), { rules, key, entries: which.map((e) => e.index), ...flags }));
  };
  const live = () => entries.filter((e) => e.counted);

  // EP3: same non-empty id, or (both without id) same instant, minutes, performer and practitioner.
  const seenIds = new Set<string>();
  const seenKeys = new Set<string>();
  const duplicates: EntryOutcome[] = [];
  for (const e of entries) {
    const fact = facts.timeEntries[e.index];
    const instant = instants[e.index];
    if (fact.id) {
      if (seenIds.has(fact.id)) duplicates.push(e);
      else seenIds.add(fact.id);
    } else if (instant !== null) {
      const key = JSON.stringify([instant, fact.minutes, fact.performer, fact.billingPractitioner ?? null]);
      if (seenKeys.has(key)) duplicates.push(e);
      else seenKeys.add(key);
    }
  }
  drop('duplicate_entry_ignored', duplicates, (n) => `Not counted, ${n}: duplicates of earlier entries`, ['EP3', 'R33'], { policy: true });

  drop(
    'minutes_outside_month',
    live().filter((e) => !inMonth(e.localDate, facts.month)),
    (n) => `Not counted, ${n}: outside ${facts.month} in the practice time zone; minutes are never carried between months`,
    ['R30', 'D1', 'EP2', 'EP12'],
  );

  const practitioner = choosePractitioner(facts.consent?.billingPractitioner || undefined, live());
  if (practitioner.source === 'consent') {
    decisions.push(decision(`The consent names ${practitioner.practitioner} as the billing practitioner`, { rules: ['R36', 'R9', 'EP7'] }));
  } else if (practitioner.source === 'most-minutes') {
    const tally = practitioner.tally.map((t) => `${t.practitioner} ${t.minutes}`).join(', ');
    decisions.push(
      decision(`${practitioner.practitioner} bills the month, having the most in-month minutes (${tally}; ties go to the earliest entry, then the lowest id)`, {
        rules: ['R36', 'EP7'],
        policy: true,
      }),
    );
  }
  drop(
    'other_practitioner_minutes_excluded',
    live().filter((e) => e.billingPractitioner !== practitioner.practitioner),
    (n) => `Not counted, ${n}: furnished for another billing practitioner (or for none named), so they cannot be added to the total of ${practitioner.practitioner ?? 'the practitioner billing the month'}`,
    ['R35', 'R36', 'EP7'],
  );

  let start: string | null = null;
  if (facts.consent && facts.initiatingVisit) {
    start = maxDate(toLocal(facts.consent.date, timeZone)!.date, toLocal(facts.initiatingVisit.date, timeZone)!.date);
    const s = start;
    drop(
      'minutes_before_start',
      live().filter((e) => e.localDate < s),
      (n) => `Not counted, ${n}: dated before CCM started on ${s}, the later of consent and initiating visit (the whole start date counts)`,
      ['R7', 'R11', 'EP6'],
    );
    const visit = toLocal(facts.initiatingVisit.date, timeZone)!.date;
    drop(
      'same_day_visit_practitioner_minutes_excluded',
      live().filter((e) => e.performer === 'billing-practitioner' && e.localDate === visit),
      (n) => `Not counted, ${n} of the practitioner on the initiating-visit day (${visit}): treated as part of that visit; staff minutes that day still count`,
      ['R14', 'R34', 'EP9'],
      { policy: true, unconfirmed: true },
    );
  }

  const countable = live().sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : a.index - b.index));
  // Exact sums (fractions included): the thresholds compare the totals, not each entry (R28).
  const staff = sumMinutes(countable.filter((e) => e.performer === 'clinical-staff').map((e) => e.minutes));
  const practitionerMinutes = sumMinutes(countable.filter((e) => e.performer === 'billing-practitioner').map((e) => e.minutes));
  const total = sumMinutes([staff, practitionerMinutes]);
  let mdm: MdmLevel | null = null;
  for (const e of countable) {
    const level = e.performer === 'billing-practitioner' ? facts.timeEntries[e.index].complexMdm : null;
    if (level && (mdm === null || MDM_RANK[level] > MDM_RANK[mdm])) mdm = level;
  }
  decisions.push(
    decision(
      `Countable minutes: clinical staff ${staff}, billing practitioner ${practitionerMinutes}, total ${total}, from ${plural(countable.length, 'time entry')}`,
      { rules: ['D2', 'R30', 'R31', 'R35', 'EP12'], entries: countable.map((e) => e.index) },
    ),
  );
  if (mdm) {
    const from = countable.filter((e) => e.performer === 'billing-practitioner' && facts.timeEntries[e.index].complexMdm === mdm).map((e) => e.index);
    decisions.push(decision(`The month's medical decision making is ${mdm}, the highest level on the practitioner's countable entries`, { rules: ['R29', 'EP8'], entries: from }));
  }
  return {
    entries,
    countable,
    practitioner,
    start,
    staff,
    practitionerMinutes,
    total,
    mdm,
    filterKeys,
    decisions,
  };
}
