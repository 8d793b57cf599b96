import { createRequire } from 'node:module';
import { dirname } from 'node:path';

const require = createRequire(import.meta.url);

/** Folder of the official R4 definitions (the hl7.fhir.r4.examples npm package carries the unmodified set). */
export function r4PackageDir(): string {
  return dirname(require.resolve('hl7.fhir.r4.examples/package.json'));
}
