import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The shared read-only data folder (env FHIR_TEST_DATA, default ../shared/data beside the repo). */
export function testDataDir(): string | undefined {
  const dir = process.env.FHIR_TEST_DATA ?? join(repoRoot, '..', 'shared', 'data');
  return existsSync(dir) ? dir : undefined;
}

export function repoPath(...parts: string[]): string {
  return join(repoRoot, ...parts);
}
