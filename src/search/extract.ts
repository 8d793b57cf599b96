import fhirpath from 'fhirpath';
import r4model from 'fhirpath/fhir-context/r4/index.js';
import type { DomainResource, Resource } from 'fhir/r4.js';
import type { IndexValues } from '../store/port.js';
import { entriesOf, referenceIdentifier, type ValueContext } from './node-values.js';
import { FIELD_OF, type CmpEntry, type Idx, type SortKey } from './index-entries.js';
import { compileFast } from './fast-path.js';
import { SAFE_CODE, TOP_LEVEL_PARAMS, type ParamDef, type ParamRegistry } from './params.js';
import { containedById } from '../fhir/contained-by-id.js';

/** A fhirpath.js result node when internal types are kept. */
interface FpNode {
  data: unknown;
  fhirNodeDataType?: string;
}
type Compiled = (input: unknown) => unknown[];

/** Expressions that compute a value (e.g. `deceased.exists() and ...`) yield bare primitives, not nodes. */
function asNode(n: unknown): FpNode {
  if (n && typeof n === 'object' && 'data' in n) return n as FpNode;
  return { data: n, fhirNodeDataType: typeof n };
}

const SORTABLE = new Set(['string', 'token', 'date', 'number', 'quantity', 'reference', 'uri']);

/**
 * Extracts the index values of a resource: every applicable search parameter's FHIRPath
 * expression, compiled once per (type, parameter), evaluated once per write, normalised.
 */
export class IndexExtractor {
  private readonly plans = new Map<string, Array<{ def: ParamDef; fn: Compiled; implied?: string; comps?: Array<{ def: ParamDef; fn: Compiled }> }>>();
  private readonly ctx: ValueContext;

  constructor(
    private readonly registry: ParamRegistry,
    base: string,
    /** Use the fast path evaluator where it applies (off only to compare against fhirpath.js). */
    private readonly fast = true,
    /**
     * The code system implied by an expression's element (a `code` bound to a value set of one
     * system, e.g. Patient.gender), so `gender=http://hl7.org/fhir/administrative-gender|male` matches.
     */
    private readonly impliedSystem: (expression: string) => string | undefined = () => undefined,
  ) {
    this.ctx = { base: base.replace(/\/+$/, '') };
  }

  extract(resource: Resource): IndexValues {
    const idx: Idx = {};
    const plan = this.planFor(resource.resourceType);
    for (const { def, fn, comps, implied } of plan) {
      let nodes: FpNode[];
      try {
        nodes = fn(resource).map(asNode);
      } catch {
        continue; // an expression that fails on unusual content indexes nothing rather than blocking the write
      }
      if (nodes.length === 0) continue;
      if (def.type === 'composite') {
        if (comps) this.addComposite(idx, def, nodes, comps);
        continue;
      }
      const field = FIELD_OF[def.type];
      if (!field) continue;
      const arr = ((idx[field] as Array<Record<string, unknown>> | undefined) ??= []);
      const before = arr.length;
      for (const n of nodes) {
        if (def.resolveType && !referenceIs(resource, n.data, def.resolveType)) continue;
        for (const e of entriesOf(def.type, n.fhirNodeDataType ?? '', n.data, this.ctx)) {
          if (def.containedTypes && !containedTargetFits(resource, e, def.containedTypes)) continue;
          arr.push(implied && n.fhirNodeDataType === 'code' && e.s === undefined ? { p: def.code, s: implied, ...e } : { p: def.code, ...e });
        }
        if (def.type === 'reference') {
          const ids = referenceIdentifier(n.data);
          if (ids.length) (idx.tok ??= []).push(...ids.map((e) => ({ p: `${def.code}:identifier`, ...e })));
        }
      }
      if (arr.length === before) {
        if (before === 0) delete idx[field];
        continue;
      }
      if (SORTABLE.has(def.type) && SAFE_CODE.test(def.code)) {
        const key = sortKey(def.type, arr.slice(before));
        if (key) (idx.srt ??= {})[def.code] = key;
      }
      dedupe(arr, before);
    }
    if ((resource as DomainResource).contained?.length && idx.ref) this.addContained(idx, resource);
    return idx as IndexValues;
  }

  /**
   * Chained parameters are evaluated inside contained resources (search.html, "Contained
   * resources"): each contained resource a reference parameter points to (`#id`) is indexed
   * once under that parameter, so `subject:Patient.name=x` also finds a contained Patient.
   */
  private addContained(idx: Idx, container: Resource): void {
    const own = new Map<string, Omit<Idx, 'srt' | 'ctd'>>();
    for (const e of idx.ref ?? []) {
      if (!e.r.startsWith('#') || e.r.length < 2) continue;
      const c = containedAt(container, e.r);
      if (!c) continue;
      const id = e.r.slice(1);
      let values = own.get(id);
      if (!values) {
        const { srt: _s, ctd: _c, ...rest } = this.extract(c) as Idx;
        own.set(id, (values = rest));
      }
      (idx.ctd ??= []).push({ p: e.p, t: c.resourceType, id, idx: values });
    }
  }

  /** The entries of one parameter only (for _include, _has and cursors on a page of results). */
  valuesOf(resource: Resource, code: string): Array<Record<string, unknown>> {
    const item = this.planFor(resource.resourceType).find((x) => x.def.code === code);
    if (!item || item.def.type === 'composite') return [];
    let nodes: FpNode[];
    try {
      nodes = item.fn(resource).map(asNode);
    } catch {
      return [];
    }
    const { containedTypes: types, resolveType } = item.def;
    return nodes
      .filter((n) => !resolveType || referenceIs(resource, n.data, resolveType))
      .flatMap((n) => entriesOf(item.def.type, n.fhirNodeDataType ?? '', n.data, this.ctx))
      .filter((e) => !types || containedTargetFits(resource, e, types));
  }

  /** The sort key `{a, d}` of one parameter, as extract() stores it. */
  sortKeyOf(resource: Resource, code: string): SortKey | undefined {
    const item = this.planFor(resource.resourceType).find((x) => x.def.code === code);
    return item ? sortKey(item.def.type, this.valuesOf(resource, code)) : undefined;
  }

  private addComposite(idx: Idx, def: ParamDef, nodes: FpNode[], comps: Array<{ def: ParamDef; fn: Compiled }>): void {
    for (const node of nodes) {
      const entry: Record<string, unknown> = { p: def.code };
      let complete = true;
      comps.forEach((c, i) => {
        let vals: FpNode[] = [];
        try {
          vals = c.fn(node).map(asNode);
        } catch {
          vals = [];
        }
        const entries = vals.flatMap((v) => entriesOf(c.def.type, v.fhirNodeDataType ?? '', v.data, this.ctx));
        if (entries.length === 0) complete = false;
        entry[`k${i}`] = entries;
      });
      if (complete) (idx.cmp ??= []).push(entry as unknown as CmpEntry);
    }
  }

  private planFor(type: string) {
    let plan = this.plans.get(type);
    if (plan) return plan;
    plan = [];
    for (const def of this.registry.forType(type)) {
      if (!def.expression || TOP_LEVEL_PARAMS.has(def.code) || def.type === 'special') continue;
      if (def.type !== 'composite') {
        // Composite components are evaluated on fhirpath.js nodes, so composites stay on fhirpath.js.
        const fn = (this.fast ? (compileFast(def.expression) as Compiled | undefined) : undefined) ?? compile(def.expression);
        if (!fn) continue;
        plan.push({ def, fn, implied: def.type === 'token' ? this.impliedSystem(def.expression) : undefined });
        continue;
      }
      const fn = compile(def.expression);
      if (!fn) continue;
      const comps: Array<{ def: ParamDef; fn: Compiled }> = [];
      for (const c of def.components) {
        const sp = this.registry.definition(c.definition);
        const cfn = compile(c.expression);
        if (!sp?.type || !cfn) break;
        comps.push({ def: { code: sp.code, type: sp.type, targets: [], components: [], sp }, fn: cfn });
      }
      if (comps.length === def.components.length && comps.length > 0) plan.push({ def, fn, comps });
    }
    this.plans.set(type, plan);
    return plan;
  }
}

/** The resource inside `resource` that a local reference (`#id`) names. */
function containedAt(resource: Resource, reference: string): Resource | undefined {
  return reference.startsWith('#') ? (containedById((resource as DomainResource).contained, reference.slice(1)) as Resource | undefined) : undefined;
}

/**
 * For `where(resolve() is X)`: a `#id` reference counts when the resource contains `id` with
 * one of the types (other references were already judged by the rewritten expression).
 */
function containedTargetFits(resource: Resource, e: Record<string, unknown>, types: ReadonlySet<string>): boolean {
  const r = e.r;
  if (typeof r !== 'string' || !r.startsWith('#')) return true;
  const c = containedAt(resource, r);
  return c !== undefined && types.has(c.resourceType);
}

/**
 * `where(resolve() is X)` judged without resolving: a reference whose text names type X
 * (`X/id`, `.../X/id`), that declares `type` X, or that points to a contained X (`#id`).
 */
function referenceIs(resource: Resource, data: unknown, type: string): boolean {
  if (!data || typeof data !== 'object') return false;
  const { reference, type: declared } = data as { reference?: unknown; type?: unknown };
  if (declared === type) return true;
  if (typeof reference !== 'string') return false;
  if (reference.startsWith('#')) return containedAt(resource, reference)?.resourceType === type;
  return reference.startsWith(`${type}/`) || reference.includes(`/${type}/`);
}

function compile(expression: string): Compiled | undefined {
  try {
    return fhirpath.compile(expression, r4model, { resolveInternalTypes: false }) as unknown as Compiled;
  } catch {
    return undefined; // a few published expressions do not parse; those parameters stay unindexed
  }
}

function sortKey(type: string, entries: Array<Record<string, unknown>>): SortKey | undefined {
  const vals: Array<string | number> = [];
  const his: Array<string | number> = [];
  for (const e of entries) {
    switch (type) {
      case 'string':
      case 'uri':
        if (typeof e.v === 'string') vals.push(e.v);
        break;
      case 'token':
        if (typeof e.c === 'string') vals.push(e.c);
        break;
      case 'reference':
        if (typeof e.r === 'string') vals.push(e.r);
        break;
      default: {
        // A UCUM quantity (the only entry with canonical bounds) sorts by its value in base units
        // (5000 mg between 4.5 g and 6 g); other quantities, dates and numbers as written.
        const canonical = typeof e.clo === 'number';
        const lo = canonical ? e.clo : e.lo;
        const hi = canonical ? e.chi : e.hi;
        if (typeof lo === 'number') vals.push(lo);
        if (typeof hi === 'number') his.push(hi);
      }
    }
  }
  if (vals.length === 0 && type === 'token') {
    // a concept with text only sorts by its text
    for (const e of entries) if (typeof e.t === 'string') vals.push(e.t);
  }
  if (vals.length === 0) return undefined;
  const all = his.length ? his : vals;
  const cmp = (x: string | number, y: string | number) => (x < y ? -1 : x > y ? 1 : 0);
  return { a: vals.reduce((m, v) => (cmp(v, m) < 0 ? v : m)), d: all.reduce((m, v) => (cmp(v, m) > 0 ? v : m)) };
}

/** Drops exact duplicates among the entries added from `from` (e.g. the same code twice). */
function dedupe(arr: Array<Record<string, unknown>>, from: number): void {
  if (arr.length - from < 2) return; // one entry: nothing to drop (most parameters; the text key costs a tenth of extraction)
  const seen = new Set<string>();
  let w = from;
  for (let i = from; i < arr.length; i++) {
    const k = JSON.stringify(arr[i]);
    if (seen.has(k)) continue;
    seen.add(k);
    arr[w++] = arr[i];
  }
  arr.length = w;
}
