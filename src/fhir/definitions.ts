import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, SearchParameter, StructureDefinition } from 'fhir/r4.js';
import { r4PackageDir } from './package-dir.js';

/**
 * The FHIR R4 knowledge the server needs, loaded once from the official package:
 * never hand-copied into code.
 */
export interface Definitions {
  /** Every concrete R4 resource type, sorted. */
  resourceTypes: readonly string[];
  /** The official R4 SearchParameters. */
  searchParameters: readonly SearchParameter[];
  /** StructureDefinitions of the resources (with snapshots), by type name. */
  resourceDefinitions: ReadonlyMap<string, StructureDefinition>;
}

function readBundle<T>(file: string): T[] {
  const bundle = JSON.parse(readFileSync(join(r4PackageDir(), file), 'utf8')) as Bundle;
  return (bundle.entry ?? []).map((e) => e.resource as unknown as T);
}

let cached: Definitions | undefined;

export function loadDefinitions(): Definitions {
  if (cached) return cached;
  const resourceDefinitions = new Map<string, StructureDefinition>();
  for (const sd of readBundle<StructureDefinition>('Bundle-resources.json')) {
    if (sd.resourceType !== 'StructureDefinition') continue;
    if (sd.kind === 'resource' && sd.derivation === 'specialization' && !sd.abstract) {
      resourceDefinitions.set(sd.type, sd);
    }
  }
  const searchParameters = readBundle<SearchParameter>('Bundle-searchParams.json').filter(
    (r) => r.resourceType === 'SearchParameter',
  );
  cached = {
    resourceTypes: [...resourceDefinitions.keys()].sort(),
    searchParameters,
    resourceDefinitions,
  };
  return cached;
}
