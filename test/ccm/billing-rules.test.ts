// Code selection and counting rules with their boundaries (EP13, EP14, R20-R28, EP3, EP6-EP9, EP12).
import t from 'tap';
import { evaluateBilling } from '../../src/ccm/billing.js';
import { facts, lineList, P1, P2, pcmConditions, practitioner, staff } from './fixtures.js';

const revised = { status: 'active', created: '2025-01-10', substantiallyRevisedInMonth: true };
const bill = (over: Parameters<typeof facts>[0], tz?: string) => evaluateBilling(facts(over), tz ? { timeZone: tz } : {});

t.test('staff-time CCM thresholds 19/20/39/40/59/60/61/80', async (t) => {
  const cases: Array<[number, string[], string[]]> = [
    [19, [], ['insufficient_time']],
    [20, ['99490x1'], []],
    [39, ['99490x1'], []],
    [40, ['99490x1', '99439x1'], []],
    [59, ['99490x1', '99439x1'], []],
    [60, ['99490x1', '99439x2'], []],
    [61, ['99490x1', '99439x2'], []],
    [80, ['99490x1', '99439x2'], ['unit_cap_applied']],
  ];
  for (const [m, lines, reasons] of cases) {
    const r = bill({ timeEntries: [staff(m)] });
    t.same(lineList(r), lines, `${m} min lines`);
    t.same(r.notBilledReasons, reasons, `${m} min reasons`);
  }
});

t.test('practitioner-only CCM 19/29/30/59/60/90/120', async (t) => {
  const cases: Array<[number, string[], string[]]> = [
    [19, [], ['insufficient_time']],
    [29, ['99490x1'], []],
    [30, ['99491x1'], []],
    [59, ['99491x1'], []],
    [60, ['99491x1', '99437x1'], []],
    [90, ['99491x1', '99437x2'], []],
    [120, ['99491x1', '99437x2'], ['unit_cap_applied']],
  ];
  for (const [m, lines, reasons] of cases) {
    const r = bill({ timeEntries: [practitioner(m)] });
    t.same(lineList(r), lines, `${m} min`);
    t.same(r.notBilledReasons, reasons, `${m} min reasons`);
  }
  const capped = bill({ timeEntries: [practitioner(120)] });
  t.match(capped.explanations.join('\n'), /99437 is capped.*engine policy.*⚠/, 'the 99437 cap is labelled an engine default ⚠');
});

t.test('one staff minute moves practitioner time into the staff family (EP13 step 2 needs S = 0)', async (t) => {
  t.same(lineList(bill({ timeEntries: [practitioner(90), staff(1)] })), ['99490x1', '99439x2']);
  t.same(bill({ timeEntries: [practitioner(90), staff(1)] }).notBilledReasons, ['unit_cap_applied']);
});

t.test('complex CCM 59/60/89/90 with moderate MDM and a revised plan', async (t) => {
  const cases: Array<[number, string[], string[]]> = [
    [59, ['99490x1', '99439x1'], ['complex_minimum_not_met']],
    [60, ['99487x1'], []],
    [89, ['99487x1'], []],
    [90, ['99487x1', '99489x1'], []],
    [210, ['99487x1', '99489x5'], []],
  ];
  for (const [m, lines, reasons] of cases) {
    const r = bill({ carePlan: revised, timeEntries: [staff(m - 10), practitioner(10, '2025-03-12', 'moderate')] });
    t.same(lineList(r), lines, `${m} min`);
    t.same(r.notBilledReasons, reasons, `${m} min reasons (99489 has no cap)`);
  }
});

t.test('complex needs moderate or high MDM by the practitioner (EP8, EP14)', async (t) => {
  const low = bill({ carePlan: revised, timeEntries: [staff(50), practitioner(10, '2025-03-12', 'low')] });
  t.same(lineList(low), ['99490x1', '99439x2']);
  t.same(low.notBilledReasons, ['complex_mdm_not_met']);
  const none = bill({ carePlan: revised, timeEntries: [staff(70)] });
  t.same(none.notBilledReasons, ['complex_mdm_not_met'], 'no MDM recorded is below moderate');
  const capped = bill({ carePlan: revised, timeEntries: [staff(100)] });
  t.same(capped.notBilledReasons, ['complex_mdm_not_met', 'unit_cap_applied'], 'canonical order (EP16)');
  const staffMdm = bill({ carePlan: revised, timeEntries: [staff(70, '2025-03-10', { complexMdm: 'high' })] });
  t.equal(staffMdm.mdm, null, 'MDM on staff entries is ignored');
  t.same(lineList(staffMdm), ['99490x1', '99439x2']);
  const highest = bill({ carePlan: revised, timeEntries: [practitioner(30, '2025-03-12', 'low'), practitioner(35, '2025-03-13', 'high'), practitioner(5, '2025-03-14', 'moderate')] });
  t.equal(highest.mdm, 'high');
  t.same(lineList(highest), ['99487x1']);
});

t.test('complex needs the plan established or substantially revised in the month', async (t) => {
  const notRevised = bill({ timeEntries: [staff(50), practitioner(20, '2025-03-12', 'high')] });
  t.same(lineList(notRevised), ['99490x1', '99439x2']);
  t.same(notRevised.notBilledReasons, ['complex_care_plan_not_revised']);
  const createdInMonth = bill({
    carePlan: { status: 'active', created: '2025-03-02', substantiallyRevisedInMonth: false },
    timeEntries: [staff(50), practitioner(20, '2025-03-12', 'high')],
  });
  t.same(lineList(createdInMonth), ['99487x1'], 'a plan created in the month is established in the month');
  const neither = bill({ timeEntries: [staff(70)] });
  t.same(neither.notBilledReasons, [], 'no complex note when neither element is present');
});

t.test('PCM staff 29/30/59/60/90/120 and practitioner 25/30/90', async (t) => {
  const cases: Array<[number, string[], string[]]> = [
    [29, [], ['insufficient_time']],
    [30, ['99426x1'], []],
    [59, ['99426x1'], []],
    [60, ['99426x1', '99427x1'], []],
    [90, ['99426x1', '99427x2'], []],
    [120, ['99426x1', '99427x2'], ['unit_cap_applied']],
  ];
  for (const [m, lines, reasons] of cases) {
    const r = bill({ conditions: pcmConditions, timeEntries: [staff(m)] });
    t.equal(r.program, 'PCM');
    t.same(lineList(r), lines, `staff ${m}`);
    t.same(r.notBilledReasons, reasons, `staff ${m} reasons`);
  }
  t.same(lineList(bill({ conditions: pcmConditions, timeEntries: [practitioner(25)] })), [], 'PCM has no 20-minute code');
  t.same(lineList(bill({ conditions: pcmConditions, timeEntries: [practitioner(30)] })), ['99424x1']);
  t.same(lineList(bill({ conditions: pcmConditions, timeEntries: [practitioner(90)] })), ['99424x1', '99425x2']);
  t.same(lineList(bill({ conditions: pcmConditions, timeEntries: [practitioner(30), staff(5)] })), ['99426x1']);
  const pcmComplex = bill({ conditions: pcmConditions, carePlan: revised, timeEntries: [staff(10), practitioner(5, '2025-03-12', 'high')] });
  t.same(pcmComplex.notBilledReasons, ['insufficient_time'], 'no complex notes for PCM');
});

t.test('line minutes and the entries behind each line', async (t) => {
  const r = bill({ timeEntries: [staff(15, '2025-03-20'), staff(10, '2025-03-05'), staff(30, '2025-03-12'), staff(2, '2025-03-25')] });
  t.same(lineList(r), ['99490x1', '99439x1']);
  t.same(r.lines.map((l) => l.minutes), [20, 20]);
  // chronological: 03-05 (10) [0,10), 03-12 (30) [10,40), 03-20 (15) [40,55), 03-25 (2) [55,57)
  t.same(r.lines[0].entries, [1, 2]);
  t.same(r.lines[1].entries, [2]);
  t.same(r.minutes, { clinicalStaff: 57, billingPractitioner: 0, counted: 57 });
  t.match(r.explanations.join('\n'), /17 minutes below the next increment are not billed/);
});

t.test('duplicates (EP3)', async (t) => {
  const sameId = bill({ timeEntries: [staff(15, '2025-03-10', { id: 'sys|a' }), staff(15, '2025-03-11', { id: 'sys|a' }), staff(10, '2025-03-12', { id: 'sys|b' })] });
  t.equal(sameId.minutes.counted, 25);
  t.same(sameId.notBilledReasons, ['duplicate_entry_ignored']);
  t.equal(sameId.entries[1].droppedBy, 'duplicate_entry_ignored', 'the later one is dropped');
  const sameInstant = bill({ timeEntries: [staff(15, '2025-03-10T10:00:00Z'), staff(15, '2025-03-10T05:00:00-05:00')] });
  t.equal(sameInstant.minutes.counted, 15, 'same full date-time (same instant), minutes, performer, practitioner');
  const differentMinutes = bill({ timeEntries: [staff(15, '2025-03-10T10:00:00Z'), staff(16, '2025-03-10T10:00:00Z')] });
  t.equal(differentMinutes.minutes.counted, 31);
  const dateOnly = bill({ timeEntries: [staff(15, '2025-03-10'), staff(15, '2025-03-10')] });
  t.equal(dateOnly.minutes.counted, 30, 'date-only entries without id are never duplicates');
  t.same(dateOnly.notBilledReasons, []);
  const idAndNoId = bill({ timeEntries: [staff(15, '2025-03-10T10:00:00Z', { id: 'x|1' }), staff(15, '2025-03-10T10:00:00Z')] });
  t.equal(idAndNoId.minutes.counted, 30, 'an entry with id and one without are not duplicates');
  const emptyId = bill({ timeEntries: [staff(15, '2025-03-10', { id: '' }), staff(15, '2025-03-10', { id: '' })] });
  t.equal(emptyId.minutes.counted, 30, 'an empty id is no id');
});

t.test('month boundaries in UTC and with offsets (EP2)', async (t) => {
  const entries = [
    staff(10, '2025-03-31T23:30:00Z'), // 0: March in UTC
    staff(10, '2025-04-01T00:10:00Z'), // 1: April
    staff(10, '2025-04-01T01:00:00+02:00'), // 2: 23:00 UTC on 31 March
    staff(10, '2025-02-28T23:00:00-05:00'), // 3: 04:00 UTC on 1 March
    staff(10, '2025-02-28'), // 4: date only, February
    staff(10, '2025-03-01'), // 5: date only, March
  ];
  const utc = bill({ timeEntries: entries });
  t.same(utc.entries.filter((e) => e.counted).map((e) => e.index), [0, 2, 3, 5]);
  t.same(utc.notBilledReasons, ['minutes_outside_month']);
  t.equal(utc.minutes.counted, 40);
  const ny = bill({ timeEntries: entries }, 'America/New_York');
  // New York (EDT from 9 March): 0 -> 19:30 on 31 Mar, 1 -> 20:10 on 31 Mar, 2 -> 19:00 on 31 Mar, 3 -> 28 Feb
  t.same(ny.entries.filter((e) => e.counted).map((e) => e.index), [0, 1, 2, 5]);
  const berlin = bill({ timeEntries: entries }, 'Europe/Berlin');
  // Berlin (CEST from 30 March): 0 -> 01:30 on 1 Apr, 2 -> 01:00 on 1 Apr, 3 -> 05:00 on 1 Mar
  t.same(berlin.entries.filter((e) => e.counted).map((e) => e.index), [3, 5]);
  const allOut = bill({ timeEntries: [staff(30, '2025-04-02')] });
  t.same(allOut.notBilledReasons, ['minutes_outside_month', 'insufficient_time']);
  t.match(allOut.explanations.join('\n'), /never carried between months/);
});

t.test('start date (EP6) and same-day visit (EP9)', async (t) => {
  const r = bill({
    consent: { date: '2025-03-05', billingPractitioner: P1 },
    initiatingVisit: { date: '2025-03-08' },
    timeEntries: [staff(10, '2025-03-07'), staff(12, '2025-03-08'), practitioner(25, '2025-03-08T15:00:00Z'), practitioner(9, '2025-03-09')],
  });
  t.same(r.entries.map((e) => e.droppedBy ?? 'counted'), ['minutes_before_start', 'counted', 'same_day_visit_practitioner_minutes_excluded', 'counted']);
  t.same(r.minutes, { clinicalStaff: 12, billingPractitioner: 9, counted: 21 });
  t.same(r.notBilledReasons, ['minutes_before_start', 'same_day_visit_practitioner_minutes_excluded']);
  t.match(r.explanations.find((e) => e.includes('initiating-visit day')), /engine policy.*⚠.*R34.*EP9/, 'EP9 is labelled engine policy ⚠');
  const consentDay = bill({ consent: { date: '2025-03-05T16:00:00Z', billingPractitioner: P1 }, timeEntries: [staff(20, '2025-03-05T09:00:00Z')] });
  t.same(lineList(consentDay), ['99490x1'], 'the whole consent date counts (open question 11)');
});

t.test('practitioner selection (EP7)', async (t) => {
  const noConsentPractitioner = { date: '2025-01-10' };
  const most = bill({ consent: noConsentPractitioner, timeEntries: [staff(30, '2025-03-02'), staff(40, '2025-03-05', { billingPractitioner: P2 })] });
  t.equal(most.billingPractitioner, P2);
  t.same(most.notBilledReasons, ['other_practitioner_minutes_excluded']);
  t.equal(most.minutes.counted, 40);
  const tieEarliest = bill({ consent: noConsentPractitioner, timeEntries: [staff(30, '2025-03-09'), staff(30, '2025-03-05', { billingPractitioner: P2 })] });
  t.equal(tieEarliest.billingPractitioner, P2, 'tie -> earliest entry');
  const tieId = bill({ consent: noConsentPractitioner, timeEntries: [staff(30, '2025-03-05', { billingPractitioner: P2 }), staff(30, '2025-03-05')] });
  t.equal(tieId.billingPractitioner, P1, 'tie on minutes and date -> lowest id');
  const consentWins = bill({ timeEntries: [staff(10), staff(50, '2025-03-11', { billingPractitioner: P2 })] });
  t.equal(consentWins.billingPractitioner, P1, 'the consent names the practitioner');
  t.equal(consentWins.minutes.counted, 10);
  const outsideIgnored = bill({ consent: noConsentPractitioner, timeEntries: [staff(25), staff(90, '2025-02-11', { billingPractitioner: P2 })] });
  t.equal(outsideIgnored.billingPractitioner, P1, 'only in-month entries are tallied');
  const duplicatesIgnored = bill({
    consent: noConsentPractitioner,
    timeEntries: [staff(25, '2025-03-03', { id: 'a' }), staff(20, '2025-03-04', { billingPractitioner: P2, id: 'b' }), staff(20, '2025-03-04', { billingPractitioner: P2, id: 'b' })],
  });
  t.equal(duplicatesIgnored.billingPractitioner, P1, 'duplicates are not tallied');
});

t.test('determinism: same facts, same answer; facts are not mutated', async (t) => {
  const f = facts({ timeEntries: [staff(33), practitioner(12, '2025-03-02T10:00:00+01:00', 'moderate'), staff(5, '2025-04-01')] });
  const copy = structuredClone(f);
  t.same(evaluateBilling(f), evaluateBilling(f));
  t.same(f, copy);
});

t.test('fractional minutes are summed as stated; the thresholds compare the total (R28)', async (t) => {
  const r = bill({ timeEntries: [staff(10.5, '2025-03-05'), staff(9.5, '2025-03-06')] });
  t.same(lineList(r), ['99490x1'], '10.5 + 9.5 = 20 minutes');
  t.same(r.notBilledReasons, []);
  t.same(r.minutes, { clinicalStaff: 20, billingPractitioner: 0, counted: 20 });
  // 5.35 × 3 + 3.95 is 19.999999999999996 in binary floating point: still 20 minutes.
  const tenths = bill({ timeEntries: [staff(5.35, '2025-03-03'), staff(5.35, '2025-03-04'), staff(5.35, '2025-03-05'), staff(3.95, '2025-03-06')] });
  t.same([lineList(tenths), tenths.minutes.counted], [['99490x1'], 20]);
  t.same(lineList(bill({ timeEntries: [staff(19.99)] })), [], '19.99 minutes are short of 20');
  // Staff 10.5 + practitioner 9.5: M = 20, although each rounded down would give 19.
  const mixed = bill({ timeEntries: [staff(10.5, '2025-03-05'), practitioner(9.5, '2025-03-06')] });
  t.same(lineList(mixed), ['99490x1']);
  t.same(mixed.minutes, { clinicalStaff: 10.5, billingPractitioner: 9.5, counted: 20 });
  const { billingParts } = await import('../../src/ccm/parameters.js');
  const sources = { patient: 'Patient/x', coverage: null, conditions: ['Condition/a', 'Condition/b'], consent: null, carePlan: null, initiatingVisit: null, timeEntries: ['Encounter/1', 'Encounter/2'], otherServices: [] };
  const minutesPart = billingParts(mixed, sources).find((p) => p.name === 'minutes');
  t.same(minutesPart?.part?.map((p) => [p.name, p.valueInteger]), [['clinicalStaff', 10], ['billingPractitioner', 9], ['counted', 20]], 'valueInteger: each total rounded down after summing');
});
