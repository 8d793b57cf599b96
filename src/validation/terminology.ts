import type { CodeSystem, ValueSet } from 'fhir/r4.js';
import type { DefinitionRegistry } from './registry.js';

type Concept = NonNullable<CodeSystem['concept']>[number];
type Include = NonNullable<NonNullable<ValueSet['compose']>['include']>[number];

/** The codes of an expanded value set, by system. */
export interface Expansion {
  readonly url: string;
  readonly title: string;
  readonly codes: ReadonlyMap<string, ReadonlySet<string>>;
}

/** The result of checking one code against a value set. */
export type CodeCheck = 'member' | 'not-member' | 'unknown';

function collect(concepts: Concept[] | undefined, into: Set<string>): void {
  for (const c of concepts ?? []) {
    into.add(c.code);
    collect(c.concept, into);
  }
}

function findConcept(concepts: Concept[] | undefined, code: string): Concept | undefined {
  for (const c of concepts ?? []) {
    if (c.code === code) return c;
    const hit = findConcept(c.concept, code);
    if (hit) return hit;
  }
  return undefined;
}

/**
 * Expands value sets offline from the CodeSystems and ValueSets the registry holds.
 * A value set that needs an outside code system (SNOMED CT, LOINC, ...) without listing its codes
 * cannot be expanded here: checks against it answer 'unknown' and raise no error.
 */
export class Terminology {
  private readonly cache = new Map<string, Expansion | null>();
  private readonly inProgress = new Set<string>();

  constructor(private readonly registry: DefinitionRegistry) {}

  expand(canonical: string): Expansion | null {
    const cached = this.cache.get(canonical);
    if (cached !== undefined) return cached;
    this.registry.ensureTerminology();
    if (this.inProgress.has(canonical)) return null;
    this.inProgress.add(canonical);
    let result: Expansion | null = null;
    try {
      const vs = this.registry.valueSets.get(canonical);
      if (vs) result = this.expandValueSet(vs);
    } finally {
      this.inProgress.delete(canonical);
    }
    this.cache.set(canonical, result);
    return result;
  }

  check(canonical: string, system: string | undefined, code: string): CodeCheck {
    const exp = this.expand(canonical);
    if (!exp) return 'unknown';
    if (system === undefined) {
      for (const codes of exp.codes.values()) if (codes.has(code)) return 'member';
      return 'not-member';
    }
    return exp.codes.get(system)?.has(code) ? 'member' : 'not-member';
  }

  /** Whether a code system is known and complete here, and whether it defines the code. */
  codeSystemHas(system: string, code: string): boolean | undefined {
    this.registry.ensureTerminology();
    const cs = this.registry.codeSystems.get(system);
    if (!cs || cs.content !== 'complete') return undefined;
    return findConcept(cs.concept, code) !== undefined;
  }

  private expandValueSet(vs: ValueSet): Expansion | null {
    const codes = new Map<string, Set<string>>();
    const add = (system: string, set: Iterable<string>) => {
      let s = codes.get(system);
      if (!s) codes.set(system, (s = new Set()));
      for (const c of set) s.add(c);
    };
    if (vs.compose) {
      for (const inc of vs.compose.include) {
        const part = this.expandInclude(inc);
        if (!part) return this.fromStoredExpansion(vs);
        for (const [system, set] of part) add(system, set);
      }
      for (const exc of vs.compose.exclude ?? []) {
        const part = this.expandInclude(exc);
        if (!part) return this.fromStoredExpansion(vs);
        for (const [system, set] of part) for (const c of set) codes.get(system)?.delete(c);
      }
    } else {
      return this.fromStoredExpansion(vs);
    }
    return { url: vs.url ?? '', title: vs.title ?? vs.name ?? vs.url ?? '', codes };
  }

  private fromStoredExpansion(vs: ValueSet): Expansion | null {
    const contains = vs.expansion?.contains;
    if (!contains || (vs.expansion?.total !== undefined && vs.expansion.total > contains.length)) return null;
    const codes = new Map<string, Set<string>>();
    const walk = (items: typeof contains | undefined) => {
      for (const c of items ?? []) {
        if (c.system && c.code) {
          let s = codes.get(c.system);
          if (!s) codes.set(c.system, (s = new Set()));
          s.add(c.code);
        }
        walk(c.contains);
      }
    };
    walk(contains);
    return { url: vs.url ?? '', title: vs.title ?? vs.name ?? vs.url ?? '', codes };
  }

  private expandInclude(inc: Include): Map<string, Set<string>> | null {
    let result: Map<string, Set<string>> | null = null;
    if (inc.system) {
      const set = this.systemCodes(inc);
      if (!set) return null;
      result = new Map([[inc.system, set]]);
    }
    for (const ref of inc.valueSet ?? []) {
      const exp = this.expand(ref);
      if (!exp) return null;
      if (!result) {
        result = new Map([...exp.codes].map(([s, c]) => [s, new Set(c)]));
      } else {
        // An include with both system and valueSet is the intersection of the two.
        for (const [system, set] of result) {
          const other = exp.codes.get(system);
          for (const c of [...set]) if (!other?.has(c)) set.delete(c);
        }
      }
    }
    return result ?? new Map();
  }

  private systemCodes(inc: Include): Set<string> | null {
    const system = inc.system as string;
    if (inc.concept && !inc.filter) return new Set(inc.concept.map((c) => c.code));
    const cs = this.registry.codeSystems.get(system);
    if (!cs || (cs.content !== 'complete' && cs.content !== undefined)) return null;
    if (!inc.filter?.length) {
      const all = new Set<string>();
      collect(cs.concept, all);
      if (inc.concept) return new Set(inc.concept.map((c) => c.code).filter((c) => all.has(c)));
      return all;
    }
    let current: Set<string> | undefined;
    for (const f of inc.filter) {
      const set = new Set<string>();
      const root = findConcept(cs.concept, f.value ?? '');
      if (f.property !== 'concept' || !root) return null;
      if (f.op === 'is-a') {
        set.add(root.code);
        collect(root.concept, set);
      } else if (f.op === 'descendent-of') {
        collect(root.concept, set);
      } else if (f.op === 'is-not-a') {
        const all = new Set<string>();
        collect(cs.concept, all);
        const sub = new Set<string>([root.code]);
        collect(root.concept, sub);
        for (const c of all) if (!sub.has(c)) set.add(c);
      } else {
        return null;
      }
      current = current ? new Set<string>([...current].filter((c: string) => set.has(c))) : set;
    }
    return current ?? new Set();
  }
}
