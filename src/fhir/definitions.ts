import type { ElementDefinition, SearchParameter, StructureDefinition } from 'fhir/r4.js';
import { readR4Bundle } from './r4-bundle.js';

/**
 * The FHIR R4 knowledge the server needs, loaded once from the official package:
 * never hand-copied into code.
 */
export interface Definitions {
  /** Every concrete R4 resource type, sorted. */
  resourceTypes: readonly string[];
  /** The official R4 SearchParameters. */
  searchParameters: readonly SearchParameter[];
  /** StructureDefinitions of the resources (snapshots slimmed to path, cardinality, summary flag, types, binding), by type name. */
  resourceDefinitions: ReadonlyMap<string, StructureDefinition>;
}

function readBundle<T>(file: string): T[] {
  return readR4Bundle(file) as unknown as T[];
}

/** What the server reads of an element (_summary/_elements, implied code systems); the rest is documentation and ~45 MB of heap. */
function slim(sd: StructureDefinition): StructureDefinition {
  const element = (sd.snapshot?.element ?? []).map((e): ElementDefinition => {
    const out: ElementDefinition = { id: e.id, path: e.path, min: e.min, max: e.max, isSummary: e.isSummary, type: e.type };
    if (e.binding) out.binding = { strength: e.binding.strength, valueSet: e.binding.valueSet };
    // A recursive backbone (Questionnaire.item.item) is summarised as the element it names.
    if (e.contentReference) out.contentReference = e.contentReference;
    return out;
  });
  return { resourceType: 'StructureDefinition', url: sd.url, name: sd.name, status: sd.status, kind: sd.kind, abstract: sd.abstract, type: sd.type, derivation: sd.derivation, snapshot: { element } };
}

let cached: Definitions | undefined;

export function loadDefinitions(): Definitions {
  if (cached) return cached;
  const resourceDefinitions = new Map<string, StructureDefinition>();
  for (const sd of readBundle<StructureDefinition>('Bundle-resources.json')) {
    if (sd.resourceType !== 'StructureDefinition') continue;
    if (sd.kind === 'resource' && sd.derivation === 'specialization' && !sd.abstract) {
      resourceDefinitions.set(sd.type, slim(sd));
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
