import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t from 'tap';
import type { OperationOutcomeIssue, Resource } from 'fhir/r4.js';
import { createValidator } from '../../src/validation/validator.js';
import { validatorCases } from './test-data.js';

// ImplementationGuide.global: the IG's profile applies to every Patient (HL7 cases patient-ig-good/-bad).
const cases = validatorCases(t);
if (cases) {
  const read = (f: string) => cases(f) as Resource;
  const base = await createValidator();
  const errors = (issues: OperationOutcomeIssue[]) => issues.filter((i) => i.severity === 'error').map((i) => i.expression?.[0]);
  const sd = read('patient-ig-sd.json');

  t.test('with the IG, its global profile applies', async (t) => {
    const v = base.extend([read('patient-ig-ig.json'), sd]);
    t.same(errors(v.validate(read('patient-ig-good.json'))), []);
    t.same(errors(v.validate(read('patient-ig-bad.json'))), ['Patient.name'], 'the profile requires a name');
  });

  t.test('an IG package (IG_PACKAGES) applies its global profiles too', async (t) => {
    const dir = join(t.testdir({ package: {} }), 'package');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'test.ig.global', version: '0.0.1' }));
    writeFileSync(join(dir, 'ImplementationGuide-patient-ig.json'), JSON.stringify(read('patient-ig-ig.json')));
    writeFileSync(join(dir, 'StructureDefinition-patient-ig.json'), JSON.stringify(sd));
    const v = await createValidator({ packagePaths: [dirname(dir)] });
    t.same(errors(v.validate(read('patient-ig-good.json'))), []);
    t.same(errors(v.validate(read('patient-ig-bad.json'))), ['Patient.name'], 'the profile requires a name');
  });

  t.test("a profile folder (profileDirs) applies its IG's global profiles too", async (t) => {
    const dir = t.testdir({
      'ImplementationGuide-patient-ig.json': JSON.stringify(read('patient-ig-ig.json')),
      'StructureDefinition-patient-ig.json': JSON.stringify(sd),
    });
    const v = await createValidator({ profileDirs: [dir] });
    t.same(errors(v.validate(read('patient-ig-good.json'))), []);
    t.same(errors(v.validate(read('patient-ig-bad.json'))), ['Patient.name'], 'the profile requires a name');
  });

  t.test('the profile alone, without the IG naming it global, does not', async (t) => {
    t.same(errors(base.extend([sd]).validate(read('patient-ig-bad.json'))), []);
  });
}
