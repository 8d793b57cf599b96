import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createValidator } from '../../src/validation/validator.js';
import { repoPath } from './test-data.js';

const condition = {
  resourceType: 'Condition',
  id: 'c1',
  clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
  code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006' }] },
  subject: { reference: 'Patient/p1' },
};
const errorsAt = (issues: { severity: string; expression?: string[] }[]) => issues.filter((i) => i.severity === 'error').map((i) => i.expression?.[0]);

t.test('CCM profiles in profiles/ apply by their applies-when expression', async (t) => {
  const v = await createValidator({ profileDirs: [repoPath('profiles')] });
  const chronic = 'https://ccm-fhir.org/fhir/StructureDefinition/ccm-chronic-condition';
  t.ok(v.knowsProfile(chronic), 'CCM chronic-condition profile loaded');
  t.ok(v.applicableProfiles(condition, []).includes(chronic), 'a SNOMED-coded Condition gets the CCM profile');
  t.notOk(v.applicableProfiles({ ...condition, code: { text: 'no codes' } }, []).includes(chronic), 'an uncoded one does not');
  const group = { ...condition, subject: { reference: 'Group/g1' } };
  t.ok(errorsAt(v.validate(group)).includes('Condition.subject'), 'the auto profile narrows subject to Patient');
  const onsetString = v.validate({ ...condition, onsetString: 'spring' });
  t.ok(onsetString.some((i) => i.severity === 'warning' && /ccm-cc-2/.test(i.diagnostics ?? '')), 'profile warning invariant reported as a warning');
  t.same(errorsAt(onsetString), [], 'warnings do not refuse');
  t.ok(v.conformanceResources().some((r) => (r as { url?: string }).url === chronic), 'profiles/ resources handed out');
});

t.test('applicability.json rules (code match) and typeProfiles', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ccm-profiles-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'applicability.json'),
    JSON.stringify([{ profile: 'http://hl7.org/fhir/StructureDefinition/vitalsigns', path: 'code', codes: [{ system: 'http://loinc.org', code: '8867-4' }] }]),
  );
  const v = await createValidator({ profileDirs: [dir], typeProfiles: { Goal: ['http://example.org/missing-goal-profile'] } });
  const heartRate = { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] } };
  t.ok(errorsAt(v.validate(heartRate)).length > 0, 'heart rate without category/subject/effective fails the vitalsigns profile');
  t.same(errorsAt(v.validate({ ...heartRate, code: { coding: [{ system: 'http://loinc.org', code: '1-8' }] } })), [], 'other codes: profile not applied');
  const goal = { resourceType: 'Goal', lifecycleStatus: 'active', description: { text: 'x' }, subject: { reference: 'Patient/p' } };
  t.ok(v.validate(goal).some((i) => i.code === 'not-found'), 'server-configured type profile is applied (unknown here: warning)');
});
