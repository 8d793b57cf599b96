import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/project-root.js';

// The tests run compiled (dist/test/...): the repository root is found, not counted up to.
const repoRoot = projectRoot();

/** The shared read-only data folder (env FHIR_TEST_DATA, default ../shared/data beside the repo). */
export function testDataDir(): string | undefined {
  const dir = process.env.FHIR_TEST_DATA ?? join(repoRoot, '..', 'shared', 'data');
  return existsSync(dir) ? dir : undefined;
}

export function repoPath(...parts: string[]): string {
  return join(repoRoot, ...parts);
}

/**
 * A reader of the HL7 fhir-test-cases files (`validator/<file>`), or undefined when the shared data is
 * absent: the test then says so in one line and plans nothing.
 */
export function validatorCases(t: { comment(message: string): void; plan(n: number, why?: string): void }): ((file: string) => any) | undefined {
  const data = testDataDir();
  if (!data) {
    t.comment('FHIR_TEST_DATA not found: skipping');
    t.plan(0, 'no shared test data');
    return undefined;
  }
  const dir = join(data, 'fhir-test-cases', 'validator');
  return (file) => JSON.parse(readFileSync(join(dir, file), 'utf8'));
}
