// EP10 gates in order, EP4 condition activity and mapping, EP5 program, input checks.
import t from 'tap';
import { evaluateBilling } from '../../src/ccm/billing.js';
import { evaluateEligibility } from '../../src/ccm/eligibility.js';
import { CcmInputError, type ConditionFact } from '../../src/ccm/facts.js';
import { diabetes, facts, hypertension, lineList, staff } from './fixtures.js';

const icd = (code: string, extra: Partial<ConditionFact> = {}): ConditionFact => ({ code, system: 'http://hl7.org/fhir/sid/icd-10-cm', clinicalStatus: 'active', ...extra });
const snomed = (code: string, extra: Partial<ConditionFact> = {}): ConditionFact => ({ code, system: 'http://snomed.info/sct', clinicalStatus: 'active', ...extra });
const elig = (over: Parameters<typeof facts>[0], tz?: string) => evaluateEligibility(facts(over), tz ? { timeZone: tz } : {});

t.test('an eligible CCM patient', async (t) => {
  const r = elig({});
  t.equal(r.eligible, true);
  t.equal(r.program, 'CCM');
  t.same(r.notBilledReasons, []);
  t.same(r.conditions.map((c) => [c.index, c.category]), [[0, 'hypertension'], [1, 'diabetes']]);
});

t.test('each gate', async (t) => {
  const cases: Array<[string, Parameters<typeof facts>[0], string[]]> = [
    ['not medicare', { patient: { medicare: false } }, ['not_medicare']],
    ['no conditions', { conditions: [] }, ['no_chronic_conditions']],
    ['consent missing', { consent: null }, ['consent_missing']],
    ['consent after month', { consent: { date: '2025-04-01' } }, ['consent_after_month']],
    ['consent on the last day', { consent: { date: '2025-03-31' }, initiatingVisit: { date: '2025-03-31' } }, []],
    ['visit missing', { initiatingVisit: null }, ['initiating_visit_missing']],
    ['visit after month', { initiatingVisit: { date: '2025-04-01' } }, ['initiating_visit_missing']],
    ['visit exactly a year before consent', { initiatingVisit: { date: '2024-01-10' } }, []],
    ['visit a year and a day before consent', { initiatingVisit: { date: '2024-01-09' } }, ['initiating_visit_too_old']],
    ['visit after consent', { initiatingVisit: { date: '2025-02-01' } }, []],
    ['consent on 29 Feb: one year earlier is 28 Feb', { consent: { date: '2024-02-29' }, initiatingVisit: { date: '2023-02-28' } }, []],
    ['consent on 29 Feb, visit 27 Feb of the year before', { consent: { date: '2024-02-29' }, initiatingVisit: { date: '2023-02-27' } }, ['initiating_visit_too_old']],
    ['care plan missing', { carePlan: null }, ['care_plan_missing']],
    ['care plan created after month', { carePlan: { status: 'active', created: '2025-04-02', substantiallyRevisedInMonth: false } }, ['care_plan_missing']],
    ['care plan draft', { carePlan: { status: 'draft', created: '2025-01-02', substantiallyRevisedInMonth: false } }, ['care_plan_not_active']],
    [
      'every gate at once, in order',
      { patient: { medicare: false }, conditions: [], consent: null, initiatingVisit: null, carePlan: { status: 'revoked', created: '2025-01-01', substantiallyRevisedInMonth: false } },
      ['not_medicare', 'no_chronic_conditions', 'consent_missing', 'initiating_visit_missing', 'care_plan_not_active'],
    ],
    ['visit too old and consent after month', { consent: { date: '2025-04-03' }, initiatingVisit: { date: '2024-01-01' } }, ['consent_after_month', 'initiating_visit_too_old']],
  ];
  for (const [name, over, keys] of cases) {
    const r = elig(over);
    t.same(r.notBilledReasons, keys, name);
    t.equal(r.eligible, keys.length === 0, `${name}: eligible`);
  }
  const noConsent = elig({ consent: null, initiatingVisit: { date: '2020-01-01' } });
  t.same(noConsent.notBilledReasons, ['consent_missing'], 'too_old is only judged with a consent date');
});

t.test('a failed gate: no lines, no other keys, no minutes', async (t) => {
  const r = evaluateBilling(facts({ carePlan: null, timeEntries: [staff(45), staff(10, '2025-04-02')], otherServicesInMonth: ['G0558'] }));
  t.equal(r.eligible, false);
  t.same(r.lines, []);
  t.same(r.notBilledReasons, ['care_plan_missing']);
  t.same(r.minutes, { clinicalStaff: 0, billingPractitioner: 0, counted: 0 });
  t.equal(r.billingPractitioner, null);
  const timeDoesNotMatter = evaluateBilling(facts({ carePlan: null }));
  t.same(timeDoesNotMatter.notBilledReasons, r.notBilledReasons, 'gates never depend on time entries');
});

t.test('program (EP5) and mapping (EP4)', async (t) => {
  t.equal(elig({ conditions: [hypertension] }).program, 'PCM');
  t.match(elig({ conditions: [hypertension] }).explanations.join('\n'), /assumes the practitioner attests the R3 high-risk elements.*engine policy/);
  t.equal(elig({ conditions: [hypertension, icd('I11.9'), snomed('59621000')] }).program, 'PCM', 'several codes in one category are one condition');
  t.same(elig({ conditions: [hypertension, icd('I11.9'), snomed('59621000')] }).conditions.length, 3, 'each qualifying Condition is listed');
  t.equal(elig({ conditions: [icd('I11.0'), icd('I11.9')] }).program, 'CCM', 'longest prefix: I11.0 heart failure, I11.9 hypertension');
  t.same(elig({ conditions: [icd('i110')] }).categories, ['heart_failure'], 'upper case, dots removed');
  t.same(elig({ conditions: [icd('C44.91'), icd('C50.911')] }).categories, ['cancer_breast'], 'C44 skin does not count; C50 is breast, not cancer_other');
  t.same(elig({ conditions: [icd('C71.9')] }).categories, ['cancer_other']);
  t.same(elig({ conditions: [icd('I21.4'), snomed('22298006'), icd('J18.9')] }).categories, [], 'acute events do not count (counts = N)');
  t.same(elig({ conditions: [icd('Z86.79'), { code: 'I10', system: 'http://example.org/other', clinicalStatus: 'active' }] }).categories, [], 'unmapped codes and other systems are ignored');
  t.same(elig({ conditions: [snomed('38341003'), snomed('414545008')] }).categories, ['hypertension', 'ischemic_heart_disease']);
  t.match(elig({}).explanations.join('\n'), /engine's default table.*⚠/, 'the category table is labelled an engine default');
});

t.test('condition activity in the month (EP4)', async (t) => {
  const cats = (c: ConditionFact, tz?: string) => elig({ conditions: [c] }, tz).categories;
  t.same(cats(icd('I10', { onset: '2025-03-31' })), ['hypertension'], 'onset on the last day');
  t.same(cats(icd('I10', { onset: '2025-04-01' })), [], 'onset after the month');
  t.same(cats(icd('I10', { onset: '2025-04-01T02:00:00+05:00' })), ['hypertension'], 'an onset date-time is read in the practice zone (UTC: 31 March)');
  t.same(cats(icd('I10', { onset: '2025' })), ['hypertension'], 'partial onset: its first day');
  t.same(cats(icd('I10', { onset: '2025-04' })), []);
  t.same(cats(icd('I10', { clinicalStatus: 'resolved', abatement: '2025-03-01' })), ['hypertension'], 'abated on the first day');
  t.same(cats(icd('I10', { clinicalStatus: 'resolved', abatement: '2025-02-28' })), [], 'abated before the month');
  t.same(cats(icd('I10', { clinicalStatus: 'resolved', abatement: '2025-02' })), [], 'partial abatement: its last day');
  t.same(cats(icd('I10', { clinicalStatus: 'resolved' })), [], 'resolved without abatement');
  t.same(cats(icd('I10', { clinicalStatus: 'inactive' })), []);
  t.same(cats(icd('I10', { clinicalStatus: 'remission' })), [], 'remission without abatement (open question 10)');
  t.same(cats(icd('I10', { clinicalStatus: 'recurrence' })), ['hypertension']);
  t.same(cats(icd('I10', { clinicalStatus: 'relapse' })), ['hypertension']);
  t.same(cats(icd('I10', { clinicalStatus: 'entered-in-error', abatement: '2025-03-10' })), [], 'entered-in-error never counts');
});

t.test('input the engine refuses (CcmInputError)', async (t) => {
  const err = (over: Parameters<typeof facts>[0], tz?: string) => {
    try {
      evaluateBilling(facts(over), tz ? { timeZone: tz } : {});
      return null;
    } catch (e) {
      if (!(e instanceof CcmInputError)) throw e;
      return e.problems.map((p) => p.path);
    }
  };
  t.same(err({ month: '2025-13' }), ['month']);
  t.same(err({ month: '2024-12' }), ['month'], 'years outside the rules data');
  t.same(err({ month: '2027-01' }), ['month']);
  t.same(err({ timeEntries: [staff(10, '2025-03-10T10:00:00')] }), ['timeEntries[0].date'], 'a date-time without offset (EP2)');
  t.same(err({ timeEntries: [staff(-1)] }), ['timeEntries[0].minutes']);
  t.same(err({ consent: { date: '10/03/2025' } }), ['consent.date']);
  t.same(err({}, 'Mars/Olympus'), ['timeZone']);
  t.equal(err({ month: '2026-07', consent: { date: '2026-01-02' }, initiatingVisit: { date: '2026-01-02' } }), null, 'CY2026 is covered');
});

t.test('CY2026 bills the same codes', async (t) => {
  const r = evaluateBilling(facts({ month: '2026-02', timeEntries: [staff(45, '2026-02-27')] }));
  t.same(lineList(r), ['99490x1', '99439x1']);
});

void diabetes;
