import type {
  CodeSystem,
  ElementDefinition,
  Resource,
  StructureDefinition,
  ValueSet,
} from 'fhir/r4.js';
import { readR4Bundle } from '../fhir/r4-bundle.js';

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
] as const;

const DROPPED_ELEMENT_KEYS: ReadonlySet<string> = new Set(ELEMENT_DOCS);

/** A copy without the documentation keys (a copy, not `delete`: deleting puts V8 objects in slow dictionary mode, several times larger). */
function withoutKeys<T extends object>(value: T, drop: (key: string) => boolean): T {
  const out: Record<string, unknown> = {};
  for (const key in value) if (!drop(key)) out[key] = (value as Record<string, unknown>)[key];
  return out as T;
}

function slimElement(el: ElementDefinition): ElementDefinition {
  const out = withoutKeys(el, (k) => DROPPED_ELEMENT_KEYS.has(k));
  if (out.constraint) out.constraint = out.constraint.map((c) => withoutKeys(c, (k) => k === 'xpath'));
  if (out.binding) out.binding = withoutKeys(out.binding, (k) => k === 'description');
  return out;
}

/** Drops what validation never reads, in place (the object stays the one its package list holds). */
function slimStructure(sd: StructureDefinition): StructureDefinition {
  delete sd.text;
  // The differential is read only to generate a missing snapshot (snapshot.ts).
  if (sd.snapshot?.element?.length) delete sd.differential;
  delete sd.mapping;
  delete (sd as { description?: string }).description;
  if (sd.snapshot?.element) sd.snapshot.element = sd.snapshot.element.map(slimElement);
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

/** Strings up to this length are shared between definitions (constraint texts, type URLs, paths...). */
const INTERN_MAX = 256;

/**
 * Replaces repeated strings inside a definition with one shared copy: JSON.parse makes a new string
 * per occurrence, and the same constraint text (ele-1 alone is on every element) or type URL
 * appears tens of thousands of times across the R4 and IG definitions.
 */
function intern(value: unknown, pool: Map<string, string>): unknown {
  if (typeof value === 'string') {
    if (value.length > INTERN_MAX) return value;
    const hit = pool.get(value);
    if (hit !== undefined) return hit;
    pool.set(value, value);
    return value;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = intern(value[i], pool);
  } else if (typeof value === 'object' && value !== null) {
    const obj = value as Record<string, unknown>;
    for (const k in obj) obj[k] = intern(obj[k], pool);
  }
  return value;
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
 * All definitions the validator knows: the official R4 ones plus those from `profiles/` folders and
 * IG packages, slimmed to what validation reads and with repeated strings shared.
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
  /** Shared strings of the definitions (see intern()). */
  private strings: Map<string, string> = new Map();

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
    copy.strings = this.strings;
    return copy;
  }

  static core(): DefinitionRegistry {
    const reg = new DefinitionRegistry();
    for (const file of CORE_STRUCTURES) {
      for (const r of readR4Bundle(file)) {
        if (r.resourceType === 'StructureDefinition') reg.addStructure(slimStructure(r as StructureDefinition));
      }
    }
    return reg;
  }

  /** Core value sets and code systems, read once: by createValidator at start-up, else on first use of a binding. */
  ensureTerminology(): void {
    if (this.terminologyLoaded) return;
    this.terminologyLoaded = true;
    for (const file of CORE_TERMINOLOGY) {
      for (const r of readR4Bundle(file)) {
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
    if (sd.snapshot) intern(sd.snapshot, this.strings);
    this.structures.add(sd);
    const isBase =
      sd.derivation === 'specialization' ||
      (!sd.baseDefinition && (sd.kind === 'resource' || sd.kind === 'complex-type'));
    if (isBase && sd.url === `http://hl7.org/fhir/StructureDefinition/${sd.type}`) {
      this.baseByType.set(sd.type, sd);
      for (const el of sd.snapshot?.element ?? []) this.baseElements.set(el.path, el);
    }
  }

  /**
   * Adds a conformance resource from a profile folder or IG package, slimmed like the core ones
   * (narrative, descriptions, mappings: validation never reads them; SearchParameters stay whole,
   * since search and the CapabilityStatement use them).
   */
  addLocal(r: Resource): void {
    this.local.push(r);
    if (r.resourceType === 'StructureDefinition') this.addStructure(slimStructure(r as StructureDefinition));
    else if (r.resourceType === 'ValueSet') {
      delete (r as ValueSet).text;
      this.valueSets.add(r as ValueSet);
    } else if (r.resourceType === 'CodeSystem') this.codeSystems.add(slimCodeSystem(r as CodeSystem));
  }

  baseElement(path: string): ElementDefinition | undefined {
    return this.baseElements.get(path);
  }

  isResourceType(type: string): boolean {
    return this.baseByType.get(type)?.kind === 'resource';
  }

  /** A definition, then the one it derives from (baseDefinition), and so on (at most 20: a loop in the data ends there). */
  *lineage(sd: StructureDefinition | undefined): Generator<StructureDefinition> {
    for (let depth = 0; sd && depth < 20; depth++) {
      yield sd;
      sd = sd.baseDefinition ? this.structures.get(sd.baseDefinition) : undefined;
    }
  }
}
