// EP11 concurrency: blocks keep eligible = true, give no lines and only their keys.
import t from 'tap';
import { evaluateBilling } from '../../src/ccm/billing.js';
import { facts, lineList, P1, P2, pcmConditions, staff } from './fixtures.js';

const run = (services: string[], over: Parameters<typeof facts>[0] = {}) =>
  evaluateBilling(facts({ timeEntries: [staff(45), staff(10, '2025-02-10')], otherServicesInMonth: services, ...over }));

t.test('blocks', async (t) => {
  const cases: Array<[string, string[], Parameters<typeof facts>[0], string[]]> = [
    ['APCM plain code', ['G0556'], {}, ['apcm_same_month']],
    ['APCM by the same practitioner', [`G0557|${P1}`], {}, ['apcm_same_month']],
    ['CCM by another practitioner', [`99490|${P2}`], {}, ['ccm_billed_by_other_practitioner']],
    ['complex CCM by another practitioner', [`99487|${P2}`], {}, ['ccm_billed_by_other_practitioner']],
    ['PCM by the same practitioner, CCM patient', ['99426'], {}, ['pcm_same_month_same_practitioner']],
    ['CCM by the same practitioner, PCM patient', [`99491|${P1}`], { conditions: pcmConditions }, ['pcm_same_month_same_practitioner']],
    ['home health supervision', ['G0181'], {}, ['excluded_concurrent_service']],
    ['hospice supervision by anyone', [`G0182|${P2}`], {}, ['excluded_concurrent_service']],
    ['ESRD monthly services', ['90951'], {}, ['excluded_concurrent_service']],
    ['ESRD 90970', [`90970|${P2}`], { conditions: pcmConditions }, ['excluded_concurrent_service']],
    ['every block at once, canonical order', ['90960', `99439|${P2}`, 'G0558', '99424'], {}, ['apcm_same_month', 'ccm_billed_by_other_practitioner', 'pcm_same_month_same_practitioner', 'excluded_concurrent_service']],
  ];
  for (const [name, services, over, keys] of cases) {
    const r = run(services, over);
    t.same(r.notBilledReasons, keys, name);
    t.equal(r.eligible, true, `${name}: eligible stays true`);
    t.same(r.lines, [], `${name}: no lines`);
    t.equal(r.blocked, true);
  }
  t.same(run(['G0181']).minutes.counted, 45, 'minutes are still reported');
  t.match(run(['G0181']).explanations.join('\n'), /excluded_concurrent_service \[engine policy.*⚠\] \(R44, EP11\)/, 'R44 is labelled ⚠');
});

t.test('not blocking', async (t) => {
  const cases: Array<[string, string[], Parameters<typeof facts>[0]]> = [
    ['TCM', ['99495', `99496|${P2}`], {}],
    ['BHI, CoCM, RPM, E/M', ['99484', '99492', '99457', '99214', '99445'], {}],
    ['APCM by another practitioner (R41 ⚠)', [`G0558|${P2}`], {}],
    ['PCM by another practitioner for a CCM patient (R40 ⚠)', [`99424|${P2}`], {}],
    ['PCM by another practitioner for a PCM patient', [`99426|${P2}`], { conditions: pcmConditions }],
    ['CCM by the same practitioner for a CCM patient', ['99490'], {}],
    ['CPT bundling list (R45)', ['99358', '99091', '93792'], {}],
  ];
  for (const [name, services, over] of cases) {
    const r = run(services, over);
    t.equal(r.blocked, false, name);
    t.ok(r.lines.length > 0, `${name}: lines`);
  }
  t.match(run([`G0558|${P2}`]).explanations.join('\n'), /APCM billed by another practitioner does not block.*⚠.*\(R41, EP11\)/);
  t.match(run([`99424|${P2}`]).explanations.join('\n'), /PCM billed by another practitioner does not block CCM.*⚠.*\(R40, EP11\)/);
});

t.test('"same practitioner" follows EP7 when the consent names nobody', async (t) => {
  const base = { consent: { date: '2025-01-10' } };
  const chosenP1 = run([`G0556|${P1}`], base);
  t.same(chosenP1.notBilledReasons, ['apcm_same_month'], 'P1 is chosen by minutes, so G0556|P1 is the same practitioner');
  const nobody = evaluateBilling(facts({ ...base, timeEntries: [], otherServicesInMonth: [`G0556|${P1}`, `99490|${P1}`] }));
  t.same(nobody.notBilledReasons, ['ccm_billed_by_other_practitioner'], 'with nobody chosen only plain codes are "same"');
  const nobodyPlain = evaluateBilling(facts({ ...base, timeEntries: [], otherServicesInMonth: ['G0556'] }));
  t.same(nobodyPlain.notBilledReasons, ['apcm_same_month']);
});

t.test('blocks are checked only when all gates pass', async (t) => {
  const r = run(['G0558'], { patient: { medicare: false } });
  t.same(r.notBilledReasons, ['not_medicare']);
  t.same(lineList(r), []);
});
