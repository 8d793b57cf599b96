// Worklist: minutes so far, code billable today, minutes to the next threshold, days left, order.
import t from 'tap';
import { CcmInputError } from '../../src/ccm/facts.js';
import { worklistParameters } from '../../src/ccm/parameters.js';
import { sortWorklist, worklistRow } from '../../src/ccm/worklist.js';
import { facts, pcmConditions, practitioner, staff } from './fixtures.js';

const revised = { status: 'active', created: '2025-01-10', substantiallyRevisedInMonth: true };
const row = (over: Parameters<typeof facts>[0], today = '2025-03-20') => worklistRow(facts(over), today);
const next = (over: Parameters<typeof facts>[0]) => {
  const r = row(over);
  return [r.billableToday.map((l) => `${l.code}x${l.units}`).join('+'), r.nextThreshold, r.minutesNeeded];
};

t.test('next thresholds 20/40/60 for staff CCM', async (t) => {
  t.same(next({}), ['', 20, 20], 'an empty month');
  t.same(next({ timeEntries: [staff(12)] }), ['', 20, 8]);
  t.same(next({ timeEntries: [staff(20)] }), ['99490x1', 40, 20]);
  t.same(next({ timeEntries: [staff(39)] }), ['99490x1', 40, 1]);
  t.same(next({ timeEntries: [staff(45)] }), ['99490x1+99439x1', 60, 15]);
  t.same(next({ timeEntries: [staff(60)] }), ['99490x1+99439x2', null, null], 'capped: nothing more to gain');
});

t.test('practitioner-only and PCM thresholds 30/60/90', async (t) => {
  t.same(next({ timeEntries: [practitioner(10)] }), ['', 20, 10], 'practitioner minutes also reach 99490 at 20');
  t.same(next({ timeEntries: [practitioner(25)] }), ['99490x1', 30, 5], '5 more practitioner minutes reach 99491');
  t.same(next({ timeEntries: [practitioner(45)] }), ['99491x1', 60, 15]);
  t.same(next({ timeEntries: [practitioner(90)] }), ['99491x1+99437x2', null, null]);
  t.same(next({ conditions: pcmConditions, timeEntries: [staff(10)] }), ['', 30, 20]);
  t.same(next({ conditions: pcmConditions, timeEntries: [staff(65)] }), ['99426x1+99427x1', 90, 25]);
  t.same(next({ conditions: pcmConditions, timeEntries: [practitioner(31)] }), ['99424x1', 60, 29]);
});

t.test('complex thresholds 60/90/120 (no cap)', async (t) => {
  t.same(next({ carePlan: revised, timeEntries: [staff(40), practitioner(10, '2025-03-12', 'high')] }), ['99490x1+99439x1', 60, 10]);
  t.same(next({ carePlan: revised, timeEntries: [staff(85), practitioner(10, '2025-03-12', 'high')] }), ['99487x1+99489x1', 120, 25]);
});

t.test('days left, entries after today, ineligible and blocked rows', async (t) => {
  t.equal(row({}, '2025-03-01').daysLeft, 31);
  t.equal(row({}, '2025-03-31').daysLeft, 1, 'the last day still counts');
  t.equal(row({}, '2025-04-02').daysLeft, 0, 'a finished month');
  t.equal(row({}, '2025-04-02').minutesNeeded, null, 'nothing to gain once the month is over');
  t.equal(row({ timeEntries: [staff(15, '2025-03-10'), staff(30, '2025-03-25')] }, '2025-03-20').minutesCounted, 15, 'entries dated after today are not counted yet');
  t.throws(() => row({}, '2025-02-28'), CcmInputError, 'a month that has not started');
  t.throws(() => row({}, '2025-3-1'), CcmInputError);
  const ineligible = row({ consent: null, timeEntries: [staff(10)] });
  t.same([ineligible.eligible, ineligible.minutesNeeded, ineligible.notBilledReasons], [false, null, ['consent_missing']]);
  const blocked = row({ otherServicesInMonth: ['G0558'], timeEntries: [staff(10)] });
  t.same([blocked.eligible, blocked.minutesNeeded, blocked.notBilledReasons], [true, null, ['apcm_same_month']]);
});

t.test('order: days left, then minutes needed, then patient', async (t) => {
  const r = (patient: string, today: string, minutes: number) => worklistRow(facts({ timeEntries: minutes ? [staff(minutes, '2025-03-01')] : [] }), today, { patient });
  const rows = [r('Patient/a', '2025-03-20', 5), r('Patient/b', '2025-03-20', 60), r('Patient/c', '2025-03-20', 18), r('Patient/d', '2025-03-28', 0), r('Patient/e', '2025-03-20', 18)];
  t.same(sortWorklist(rows).map((x) => x.patient), ['Patient/d', 'Patient/c', 'Patient/e', 'Patient/a', 'Patient/b']);
  const p = worklistParameters('2025-03', sortWorklist(rows));
  t.equal(p.parameter?.[0].valueString, '2025-03');
  const first = p.parameter?.[1].part ?? [];
  t.same(first.map((x) => x.name), ['subject', 'eligible', 'program', 'billingPractitioner', 'minutesCounted', 'nextThreshold', 'minutesNeeded', 'daysLeft', 'reason']);
  const withCode = p.parameter?.find((x) => x.part?.[0].valueReference?.reference === 'Patient/b')?.part ?? [];
  t.same(withCode.filter((x) => x.name === 'billableCode').map((x) => x.valueCoding?.code), ['99490', '99439']);
});

t.test('fractional minutes: counted so far rounded down, still needed rounded up', async (t) => {
  const r = row({ timeEntries: [staff(10.5, '2025-03-05'), staff(9.2, '2025-03-06')] });
  t.same([r.minutesCounted, r.nextThreshold, r.minutesNeeded], [19, 20, 1], '19.7 minutes: 0.3 more reach 20, logged as a whole minute');
  t.same(row({ timeEntries: [staff(10.5, '2025-03-05'), staff(9.5, '2025-03-06')] }).billableToday.map((l) => l.code), ['99490']);
});
