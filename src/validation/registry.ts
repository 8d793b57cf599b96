import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  Bundle,
  CodeSystem,
  ElementDefinition,
  Resource,
  StructureDefinition,
  ValueSet,
} from 'fhir/r4.js';
import { r4PackageDir } from '../fhir/package-dir.js';

/** Files of the official R4 package that carry definitions (never examples). */
const CORE_STRUCTURES = [
  'Bundle-types.json',
  'Bundle-resources.json',
  'Bundle-extensions.json',
  'Bundle-profiles-others.json',
];
const CORE_TERMINOLOGY = ['Bundle-valuesets.json', 'Bundle-v3-valuesets.json'];

/** Element keys that validation never reads: dropped from the core definitions to keep memory low. */
const ELEMENT_DOCS = [
  'short',
  'definition',
  'comment',
  'requirements',
  'alias',
  'mapping',
  'example',
  'meaningWhenMissing',
  'isModifierReason',
  'orderMeaning',
  'isSummary',
] as const;

function slimStructure(sd: StructureDefinition): StructureDefinition {
  delete sd.text;
  delete sd.differential;
  delete sd.mapping;
  delete (sd as { description?: string }).description;
  for (const el of sd.snapshot?.element ?? []) {
    for (const key of ELEMENT_DOCS) delete (el as unknown as Record<string, unknown>)[key];
    for (const c of el.constraint ?? []) delete c.xpath;
    if (el.binding) delete el.binding.description;
  }
  return sd;
}

type Concept = NonNullable<CodeSystem['concept']>[number];

function slimConcepts(concepts: Concept[] | undefined): Concept[] | undefined {
  return concepts?.map((c) => {
    const out: Concept = { code: c.code };
    if (c.display) out.display = c.display;
    if (c.property?.some((p) => p.code === 'notSelectable' || p.code === 'status'))
      out.property = c.property.filter((p) => p.code === 'notSelectable' || p.code === 'status');
    const children = slimConcepts(c.concept);
    if (children) out.concept = children;
    return out;
  });
}

function slimCodeSystem(cs: CodeSystem): CodeSystem {
  delete cs.text;
  delete (cs as { description?: string }).description;
  const concept = slimConcepts(cs.concept);
  if (concept) cs.concept = concept;
  return cs;
}

function readBundle(file: string): Resource[] {
  const bundle = JSON.parse(readFileSync(join(r4PackageDir(), file), 'utf8')) as Bundle;
  return (bundle.entry ?? []).map((e) => e.resource).filter((r): r is Resource => !!r);
}

/** Splits a canonical `url|version` into its two parts. */
export function splitCanonical(canonical: string): { url: string; version?: string } {
  const bar = canonical.indexOf('|');
  return bar < 0 ? { url: canonical } : { url: canonical.slice(0, bar), version: canonical.slice(bar + 1) };
}

/** Canonical resources by url (latest loaded wins) and by `url|version`. */
class CanonicalMap<T extends { url?: string; version?: string }> {
  private readonly map: Map<string, T>;
  constructor(from?: CanonicalMap<T>) {
    this.map = new Map(from?.map);
  }
  add(r: T): void {
    if (!r.url) return;
    this.map.set(r.url, r);
    if (r.version) this.map.set(`${r.url}|${r.version}`, r);
  }
  get(canonical: string): T | undefined {
    return this.map.get(canonical) ?? this.map.get(splitCanonical(canonical).url);
  }
  has(canonical: string): boolean {
    return this.get(canonical) !== undefined;
  }
}

/**
 * All definitions the validator knows: the official R4 ones (slimmed) plus those from
 * `profiles/` folders and IG packages (kept whole, since search and `conformanceResources()` hand them out).
 */
export class DefinitionRegistry {
  readonly structures = new CanonicalMap<StructureDefinition>();
  readonly valueSets = new CanonicalMap<ValueSet>();
  readonly codeSystems = new CanonicalMap<CodeSystem>();
  /** Base definition per type name: resources, complex and primitive data types. */
  readonly baseByType = new Map<string, StructureDefinition>();
  /** Resources loaded from profile folders and IG packages. */
  readonly local: Resource[] = [];
  /** Element definitions of the base types by path, e.g. `Coding.system` (for profile-vs-base comparisons). */
  private readonly baseElements = new Map<string, ElementDefinition>();
  private terminologyLoaded = false;

  /** A copy that can take more local definitions without changing this one (definitions are shared, not cloned). */
  fork(): DefinitionRegistry {
    const copy = new DefinitionRegistry();
    (copy as { structures: CanonicalMap<StructureDefinition> }).structures = new CanonicalMap(this.structures);
    (copy as { valueSets: CanonicalMap<ValueSet> }).valueSets = new CanonicalMap(this.valueSets);
    (copy as { codeSystems: CanonicalMap<CodeSystem> }).codeSystems = new CanonicalMap(this.codeSystems);
    for (const [k, v] of this.baseByType) copy.baseByType.set(k, v);
    for (const [k, v] of this.baseElements) copy.baseElements.set(k, v);
    copy.local.push(...this.local);
    copy.terminologyLoaded = this.terminologyLoaded;
    return copy;
  }

  static core(): DefinitionRegistry {
    const reg = new DefinitionRegistry();
    for (const file of CORE_STRUCTURES) {
      for (const r of readBundle(file)) {
        if (r.resourceType === 'StructureDefinition') reg.addStructure(slimStructure(r as StructureDefinition));
      }
    }
    return reg;
  }

  /** Core value sets and code systems are read on first use of a binding. */
  ensureTerminology(): void {
    if (this.terminologyLoaded) return;
    this.terminologyLoaded = true;
    for (const file of CORE_TERMINOLOGY) {
      for (const r of readBundle(file)) {
        // Local (profile/package) definitions were added first and take precedence.
        if (r.resourceType === 'ValueSet') {
          const vs = r as ValueSet;
          delete vs.text;
          if (!this.valueSets.has(vs.url ?? '')) this.valueSets.add(vs);
        } else if (r.resourceType === 'CodeSystem') {
          const cs = r as CodeSystem;
          if (!this.codeSystems.has(cs.url ?? '')) this.codeSystems.add(slimCodeSystem(cs));
        }
      }
    }
  }

  private addStructure(sd: StructureDefinition): void {
    this.structures.add(sd);
    const isBase =
      sd.derivation === 'specialization' ||
      (!sd.baseDefinition && (sd.kind === 'resource' || sd.kind === 'complex-type'));
    if (isBase && sd.url === `http://hl7.org/fhir/StructureDefinition/${sd.type}`) {
      this.baseByType.set(sd.type, sd);
      for (const el of sd.snapshot?.element ?? []) this.baseElements.set(el.path, el);
    }
  }

  /** Adds a conformance resource from a profile folder or IG package. */
  addLocal(r: Resource): void {
    this.local.push(r);
    if (r.resourceType === 'StructureDefinition') this.addStructure(r as StructureDefinition);
    else if (r.resourceType === 'ValueSet') this.valueSets.add(r as ValueSet);
    else if (r.resourceType === 'CodeSystem') this.codeSystems.add(r as CodeSystem);
  }

  baseElement(path: string): ElementDefinition | undefined {
    return this.baseElements.get(path);
  }

  isResourceType(type: string): boolean {
    return this.baseByType.get(type)?.kind === 'resource';
  }
}
