// Every worked example of EP18, exactly as the rules document tabulates it.
import t from 'tap';
import { evaluateBilling } from '../../src/ccm/billing.js';
import { facts, lineList, pcmConditions, practitioner, staff } from './fixtures.js';

const revised = { status: 'active', created: '2025-01-10', substantiallyRevisedInMonth: true };

const examples: Array<[string, Parameters<typeof facts>[0], string[], string[]]> = [
  ['staff 33', { timeEntries: [staff(33)] }, ['99490x1'], []],
  ['staff 47', { timeEntries: [staff(47)] }, ['99490x1', '99439x1'], []],
  ['staff 100', { timeEntries: [staff(100)] }, ['99490x1', '99439x2'], ['unit_cap_applied']],
  ['practitioner only 75', { timeEntries: [practitioner(75)] }, ['99491x1', '99437x1'], []],
  ['practitioner only 25', { timeEntries: [practitioner(25)] }, ['99490x1'], []],
  ['staff 5 + practitioner 40', { timeEntries: [staff(5), practitioner(40)] }, ['99490x1', '99439x1'], []],
  [
    'plan revised, MDM high, staff 80 + practitioner 15',
    { carePlan: revised, timeEntries: [staff(80), practitioner(15, '2025-03-12', 'high')] },
    ['99487x1', '99489x1'],
    [],
  ],
  [
    'plan revised, MDM moderate, staff 50 + practitioner 5',
    { carePlan: revised, timeEntries: [staff(50), practitioner(5, '2025-03-12', 'moderate')] },
    ['99490x1', '99439x1'],
    ['complex_minimum_not_met'],
  ],
  ['PCM patient, staff 95', { conditions: pcmConditions, timeEntries: [staff(95)] }, ['99426x1', '99427x2'], []],
  ['PCM patient, practitioner only 45', { conditions: pcmConditions, timeEntries: [practitioner(45)] }, ['99424x1'], []],
  [
    'last visit 3 months earlier, consent dated the 20th, staff 30 on the 10th and 15 on the 25th',
    {
      initiatingVisit: { date: '2024-12-05' },
      consent: { date: '2025-03-20', billingPractitioner: 'Practitioner/p1' },
      timeEntries: [staff(30, '2025-03-10'), staff(15, '2025-03-25')],
    },
    [],
    ['minutes_before_start', 'insufficient_time'],
  ],
  ['APCM (G0558) billed this month by the same practitioner', { timeEntries: [staff(33)], otherServicesInMonth: ['G0558'] }, [], ['apcm_same_month']],
];

for (const [name, over, lines, reasons] of examples) {
  t.test(name, async (t) => {
    const r = evaluateBilling(facts(over));
    t.same(lineList(r), lines, 'lines');
    t.same(r.notBilledReasons, reasons, 'reason keys');
    t.equal(r.eligible, true, 'eligible');
    t.ok(r.explanations.length > 0 && r.explanations.every((e) => /\((?:[RDS]\d+|EP\d+)(?:, (?:[RDS]\d+|EP\d+))*\)\.$/.test(e)), 'every explanation ends with its rule ids');
  });
}
