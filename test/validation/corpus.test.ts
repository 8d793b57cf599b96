import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { OperationOutcomeIssue } from 'fhir/r4.js';
import { createValidator } from '../../src/validation/validator.js';
import { testDataDir } from './test-data.js';

const data = testDataDir();

/** Errors summarised without resource content (paths and rule names only). */
function summary(issues: OperationOutcomeIssue[]): string {
  return issues
    .filter((i) => i.severity === 'error' || i.severity === 'fatal')
    .slice(0, 5)
    .map((i) => `${i.expression?.[0]} [${i.code}]`)
    .join('; ');
}

/**
 * Official examples with a real defect, asserted to get exactly that error rather than skipped:
 * Observation-clinical-gender.json names an Encounter as Observation.performer, which R4 does not allow.
 */
const DEFECTIVE_EXAMPLES: Record<string, string> = {
  'Observation-clinical-gender.json': 'Observation.performer[0]',
};

if (!data) {
  t.comment('FHIR_TEST_DATA not found: skipping the example and Synthea corpus tests');
  t.plan(0, 'no shared test data');
} else {
  const validator = await createValidator();

  t.test('all R4 examples validate without errors', async (t) => {
    const dir = join(data, 'r4-examples');
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    t.equal(files.length, 200, '200 examples');
    for (const f of files) {
      const issues = validator.validate(JSON.parse(readFileSync(join(dir, f), 'utf8')));
      const errors = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
      const defect = DEFECTIVE_EXAMPLES[f];
      if (defect) {
        t.same(errors.map((e) => e.expression?.[0]), [defect], `${f}: only its known defect is reported`);
        continue;
      }
      t.equal(errors.length, 0, `${f} ${summary(issues)}`);
    }
  });

  t.test('every resource of the 70 Synthea bundles validates without errors', async (t) => {
    let resources = 0;
    let bundles = 0;
    const started = performance.now();
    for (const set of ['synthea', 'synthea-2']) {
      const dir = join(data, set, 'bundles');
      for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
        const bundle = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { entry: { resource: unknown }[] };
        bundles++;
        let failed = '';
        for (const [i, e] of bundle.entry.entries()) {
          resources++;
          const issues = validator.validate(e.resource);
          if (issues.some((x) => x.severity === 'error' || x.severity === 'fatal')) failed ||= `entry[${i}]: ${summary(issues)}`;
        }
        t.equal(failed, '', `${set}/${f.slice(0, 12)}... all entries valid`);
      }
    }
    t.equal(bundles, 70, '70 bundles');
    t.comment(`${resources} Synthea resources validated in ${Math.round(performance.now() - started)} ms (including first-use compilation)`);
  });
}
