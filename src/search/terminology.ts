import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, CodeSystem, CodeSystemConcept, ValueSet } from 'fhir/r4.js';
import { r4PackageDir } from '../fhir/package-dir.js';

/** A set of codes, grouped by code system. */
export type CodeSet = Map<string, Set<string>>;

/** Largest expansion used in a query (keeps `$in` lists bounded). */
export const MAX_EXPANSION = 20000;

interface Hierarchy {
  parents: Map<string, string[]>;
  children: Map<string, string[]>;
}

/**
 * Local terminology for :in/:not-in/:below/:above: the ValueSets and CodeSystems published
 * with R4 (plus any passed in), loaded on first use. Only complete code systems count as
 * "known hierarchy"; fragments (e.g. the SNOMED CT excerpt) would give wrong answers.
 */
export class Terminology {
  private codeSystems?: Map<string, CodeSystem>;
  private valueSets?: Map<string, ValueSet>;
  private readonly hierarchies = new Map<string, Hierarchy>();

  constructor(private readonly extra: ReadonlyArray<CodeSystem | ValueSet> = []) {}

  private load(): void {
    if (this.codeSystems) return;
    this.codeSystems = new Map();
    this.valueSets = new Map();
    const add = (r: { resourceType?: string; url?: string } | undefined) => {
      if (!r?.url) return;
      if (r.resourceType === 'CodeSystem') this.codeSystems!.set(r.url, r as CodeSystem);
      if (r.resourceType === 'ValueSet') this.valueSets!.set(r.url, r as ValueSet);
    };
    for (const file of ['Bundle-valuesets.json', 'Bundle-v3-valuesets.json']) {
      const b = JSON.parse(readFileSync(join(r4PackageDir(), file), 'utf8')) as Bundle;
      for (const e of b.entry ?? []) {
        const r = e.resource as (CodeSystem | ValueSet) | undefined;
        // The narrative is half of what these maps would hold for the server's life (~19 -> ~10 MB), and is never read here.
        if (r) delete r.text;
        add(r);
      }
    }
    for (const r of this.extra) add(r);
  }

  /** The code and its descendants (for :below), or undefined when the hierarchy is unknown. */
  below(system: string, code: string): Set<string> | undefined {
    return this.walk(system, code, 'children');
  }

  /** The code and its ancestors (for :above), or undefined when the hierarchy is unknown. */
  above(system: string, code: string): Set<string> | undefined {
    return this.walk(system, code, 'parents');
  }

  private walk(system: string, code: string, dir: keyof Hierarchy): Set<string> | undefined {
    const h = this.hierarchy(system);
    if (!h) return undefined;
    const out = new Set<string>([code]);
    const queue = [code];
    while (queue.length && out.size < MAX_EXPANSION) {
      for (const next of h[dir].get(queue.pop()!) ?? []) {
        if (!out.has(next)) {
          out.add(next);
          queue.push(next);
        }
      }
    }
    return out;
  }

  private hierarchy(system: string): Hierarchy | undefined {
    const cached = this.hierarchies.get(system);
    if (cached) return cached;
    this.load();
    const cs = this.codeSystems!.get(system);
    if (!cs || cs.content !== 'complete') return undefined;
    const h: Hierarchy = { parents: new Map(), children: new Map() };
    const link = (parent: string, child: string) => {
      if (!h.children.get(parent)?.includes(child)) h.children.set(parent, [...(h.children.get(parent) ?? []), child]);
      if (!h.parents.get(child)?.includes(parent)) h.parents.set(child, [...(h.parents.get(child) ?? []), parent]);
    };
    const visit = (concepts: CodeSystemConcept[] | undefined, parent?: string) => {
      for (const c of concepts ?? []) {
        if (!h.parents.has(c.code)) h.parents.set(c.code, []);
        if (parent) link(parent, c.code);
        for (const p of c.property ?? []) {
          if ((p.code === 'parent' || p.code === 'subsumedBy') && p.valueCode) link(p.valueCode, c.code);
          if (p.code === 'child' && p.valueCode) link(c.code, p.valueCode);
        }
        visit(c.concept, c.code);
      }
    };
    visit(cs.concept);
    this.hierarchies.set(system, h);
    return h;
  }

  /** All codes of a value set, or undefined when it is unknown or cannot be expanded locally. */
  expand(url: string, depth = 0): CodeSet | undefined {
    this.load();
    if (depth > 8) return undefined;
    const vs = this.valueSets!.get(url.split('|')[0]);
    if (!vs) return undefined;
    const out: CodeSet = new Map();
    const put = (system: string, code: string) => {
      let s = out.get(system);
      if (!s) out.set(system, (s = new Set()));
      s.add(code);
    };
    if (vs.expansion?.contains) {
      const visit = (items: NonNullable<ValueSet['expansion']>['contains']) => {
        for (const c of items ?? []) {
          if (c.system && c.code) put(c.system, c.code);
          visit(c.contains);
        }
      };
      visit(vs.expansion.contains);
      return out;
    }
    if (!vs.compose) return undefined;
    for (const inc of vs.compose.include) {
      const part = this.includeSet(inc, depth);
      if (!part) return undefined;
      for (const [s, codes] of part) for (const c of codes) put(s, c);
    }
    for (const exc of vs.compose.exclude ?? []) {
      const part = this.includeSet(exc, depth);
      if (part) for (const [s, codes] of part) for (const c of codes) out.get(s)?.delete(c);
    }
    return out;
  }

  private includeSet(inc: NonNullable<ValueSet['compose']>['include'][number], depth: number): CodeSet | undefined {
    let set: CodeSet | undefined;
    if (inc.system) {
      let codes: Set<string> | undefined;
      if (inc.concept) codes = new Set(inc.concept.map((c) => c.code));
      else if (inc.filter?.length) {
        for (const f of inc.filter) {
          let part: Set<string> | undefined;
          if (f.property === 'concept' && (f.op === 'is-a' || f.op === 'descendent-of')) {
            part = this.below(inc.system, f.value);
            if (part && f.op === 'descendent-of') part.delete(f.value);
          }
          if (!part) return undefined;
          codes = codes ? new Set([...codes].filter((c) => part!.has(c))) : part;
        }
      } else {
        const h = this.hierarchy(inc.system);
        if (!h) return undefined;
        codes = new Set(h.parents.keys());
      }
      set = new Map([[inc.system, codes ?? new Set()]]);
    }
    for (const ref of inc.valueSet ?? []) {
      const other = this.expand(ref, depth + 1);
      if (!other) return undefined;
      if (!set) set = other;
      else for (const [s, codes] of set) set.set(s, new Set([...codes].filter((c) => other.get(s)?.has(c))));
    }
    return set;
  }
}
