import type {
  Bundle,
  BundleEntry,
  BundleLink,
  CodeSystem,
  OperationOutcomeIssue,
  Resource,
  SearchParameter,
  ValueSet,
} from 'fhir/r4.js';
import { badRequest, FhirError, outcomeOf } from '../fhir/errors.js';
import { storedEntryMaker } from '../fhir/raw-json.js';
import { resourceOf } from '../fhir/json-decimals.js';
import { loadDefinitions } from '../fhir/definitions.js';
import type { Filter, IndexValues, ResourceStore, StoredVersion, StoreTx } from '../store/port.js';
import { allOf } from './compiled.js';
import { compileFilter, ignoredIssues, isResultParam, paramBase, RESULT_PARAMS, type CompileEnv } from './compile.js';
import { Compartments } from './compartment.js';
import { decodeCursor, encodeCursor, keysetFilter, rowValues, type Cursor } from './cursor.js';
import { IndexExtractor } from './extract.js';
import { parseInclude, resolveIncludes, type IncludeDirective } from './include.js';
import { ParamRegistry } from './params.js';
import { searchIndexes } from './search-indexes.js';
import { compileSort, toStoreSort } from './sort.js';
import { ElementFilter, parseElements, parseSummary, unknownElements } from './summary.js';
import { Terminology } from './terminology.js';
import { impliedSystemOf } from './implied-system.js';
import { searchTotal, TOTAL_MODES, type TotalMode } from './total.js';
import { formEncode } from './query-string.js';

export interface SearchRequest {
  types: string[];
  params: Array<[string, string]>;
  compartment?: { type: string; id: string };
  lenient?: boolean;
  /** Path of the self and paging links under the base, without a leading '/': 'Condition', 'Patient/1/Condition', or '' */
  path: string;
}

export interface SearchEngine {
  /** Called on every write. */
  extractIndex(resource: Resource): IndexValues;
  /** The index entries of one parameter only (e.g. a compartment's references, for the audit record). */
  valuesOf(resource: Resource, code: string): Array<Record<string, unknown>>;
  /** MongoDB index specs. */
  readonly indexes: Array<Record<string, 1 | -1>>;
  /** Full search → searchset Bundle (links built with opts.baseUrl; entries fullUrl base/Type/id). */
  search(store: ResourceStore, req: SearchRequest): Promise<Bundle>;
  /** Matching current resources for conditional interactions (reader.find only; throws on unknown params). */
  findMatches(reader: { find: StoreTx['find'] }, type: string, params: Array<[string, string]>): Promise<StoredVersion[]>;
  /**
   * The store filter of `type?params` (result parameters ignored), for callers that query the
   * store directly with a search's semantics; chains and _has run their inner queries on reader.
   */
  filterFor(reader: { find: StoreTx['find'] }, type: string, params: Array<[string, string]>): Promise<Filter>;
  /** Search parameters known for a type, for the CapabilityStatement. */
  parametersFor(type: string): SearchParameter[];
}

export interface SearchEngineOptions {
  extraSearchParameters?: SearchParameter[];
  baseUrl: string;
  /** Extra CodeSystems/ValueSets for :in, :not-in, :below, :above (e.g. from IG packages). */
  terminology?: Array<CodeSystem | ValueSet>;
}

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 1000;
/** Most matches a conditional interaction looks at (more than one is already a 412 for most). */
export const MAX_CONDITIONAL_MATCHES = 1000;

export function createSearchEngine(opts: SearchEngineOptions): SearchEngine {
  const defs = loadDefinitions();
  const base = opts.baseUrl.replace(/\/+$/, '');
  const storedEntry = storedEntryMaker(base);
  const registry = new ParamRegistry(defs.resourceTypes, defs.searchParameters, opts.extraSearchParameters ?? []);
  const terminology = new Terminology(opts.terminology ?? []);
  const extractor = new IndexExtractor(registry, base, true, impliedSystemOf(defs, terminology));
  const compartments = new Compartments();
  const elements = new ElementFilter(defs.resourceDefinitions);
  const knownTypes = new Set(defs.resourceTypes);

  const env = (find: CompileEnv['find'], issues?: OperationOutcomeIssue[], ignored?: CompileEnv['ignored']): CompileEnv => ({
    registry,
    terminology,
    extractor,
    base,
    find,
    issues,
    ignored,
  });

  /**
   * One filter over several types: identical per-type filters collapse into one. Of one type, a
   * promise only when compiling runs inner queries (compileFilter).
   */
  function typesFilter(e: CompileEnv, types: readonly string[], params: ReadonlyArray<readonly [string, string]>, extra?: (t: string) => Filter): Filter | Promise<Filter> {
    if (types.length !== 1) return typesFilterOfMany(e, types, params, extra);
    const withExtra = (f: Filter) => allOf([f, extra ? extra(types[0]) : {}]);
    const f = compileFilter(e, types[0], params);
    return f instanceof Promise ? f.then(withExtra) : withExtra(f);
  }

  async function typesFilterOfMany(e: CompileEnv, types: readonly string[], params: ReadonlyArray<readonly [string, string]>, extra?: (t: string) => Filter): Promise<Filter> {
    const groups = new Map<string, { types: string[]; filter: Filter }>();
    for (const t of types) {
      const f = allOf([await compileFilter(e, t, params), extra ? extra(t) : {}]);
      const key = JSON.stringify(f);
      const g = groups.get(key);
      if (g) g.types.push(t);
      else groups.set(key, { types: [t], filter: f });
    }
    if (groups.size === 1) return [...groups.values()][0].filter;
    return { $or: [...groups.values()].map((g) => allOf([{ type: g.types.length === 1 ? g.types[0] : { $in: g.types } }, g.filter])) };
  }

  const filterFor: SearchEngine['filterFor'] = async (reader, type, params) => {
    if (!knownTypes.has(type)) throw badRequest(`Unknown resource type '${type}'`, 'not-supported');
    const selecting = params.filter(([n]) => !isResultParam(n));
    return compileFilter(env((q) => reader.find(q)), type, selecting);
  };

  return {
    indexes: searchIndexes,

    extractIndex: (resource) => extractor.extract(resource),
    valuesOf: (resource, code) => extractor.valuesOf(resource, code),

    parametersFor(type) {
      return registry
        .forType(type)
        .filter((d) => d.type !== 'special' && (d.expression || d.type === 'composite' || d.code === '_id'))
        .map((d) => d.sp);
    },

    filterFor,

    async findMatches(reader, type, params) {
      const filter = await filterFor(reader, type, params);
      return reader.find({ types: [type], filter, limit: MAX_CONDITIONAL_MATCHES });
    },

    async search(store, req) {
      const issues: OperationOutcomeIssue[] = [];
      // What a lenient search ignores stays out of its links (search.html#selflink: the self
      // link holds "the parameters that were actually used"). A selecting parameter counts as
      // ignored when every searched type ignored it.
      // Made only when something is dropped or the search is lenient: most searches need neither.
      let dropped: Set<readonly [string, string]> | undefined;
      const ignoredBy = req.lenient ? new Map<readonly [string, string], number>() : undefined;
      const e = env(
        (q) => store.find(q),
        req.lenient ? issues : undefined,
        ignoredBy ? (p) => ignoredBy.set(p, (ignoredBy.get(p) ?? 0) + 1) : undefined,
      );
      /** A refusal: thrown, or when lenient reported, with the parameters it leaves out of the links. */
      const ignore = (err: unknown, ...leftOut: Array<readonly [string, string]>) => {
        if (!req.lenient || !(err instanceof FhirError)) throw err;
        issues.push(...ignoredIssues(err));
        for (const p of leftOut) (dropped ??= new Set()).add(p);
      };
      // search.html#errors: "Empty parameters are not an error - they are just ignored by the
      // server." Left out of the links too, and reported (an empty item in a list is still an error).
      const params: Array<[string, string]> = [];
      let empty: Set<string> | undefined;
      for (const p of req.params) {
        if (p[1] === '') (empty ??= new Set()).add(p[0]);
        else params.push(p);
      }
      if (empty) {
        const names = [...empty].map((n) => `'${n.slice(0, 100)}'`).join(', ');
        issues.push({ severity: 'information', code: 'informational', diagnostics: `Ignored: ${names} ${empty.size > 1 ? 'have' : 'has'} no value (search.html#errors: empty parameters are ignored)` });
      }
      // Result parameters by name, gathered in one pass (they are looked up one by one below).
      const results = new Map<string, string[]>();
      for (const [n, v] of params) {
        if (!RESULT_PARAMS.has(n)) continue;
        const list = results.get(n);
        if (list) list.push(v);
        else results.set(n, [v]);
      }
      const single = (name: string): string | undefined => {
        const vals = results.get(name);
        if (vals && vals.length > 1) {
          ignore(badRequest(`Parameter '${name}' may appear only once: the first is used`, 'invalid'), ...params.filter(([n]) => n === name).slice(1));
          results.set(name, [vals[0]]);
        }
        return vals?.[0];
      };

      // which types
      let types = req.types;
      if (types.length === 0) {
        const typeValues = params.filter(([n]) => n === '_type').map(([, v]) => v);
        const typeParam = typeValues.flatMap((v) => v.split(',')).map((s) => s.trim());
        if (typeParam.some((t) => !t)) throw badRequest(`Invalid _type value '${typeValues.join(',').slice(0, 100)}': an empty type`, 'value');
        if (typeParam.length) types = [...new Set(typeParam)];
        else if (req.compartment) types = compartments.typesIn(req.compartment.type);
        else types = [...defs.resourceTypes];
      } else if (results.has('_type')) {
        // The URL already names the type: _type would be ignored, so it is refused (or reported).
        ignore(badRequest(`_type applies to whole-system and Patient/[id]/* searches, not to a search of ${types.join(', ')}`, 'not-supported'), ...params.filter(([n]) => n === '_type'));
      }
      for (const t of types) if (!knownTypes.has(t)) throw badRequest(`Unknown resource type '${t}'`, 'not-supported');

      // result parameters
      const summary = parseSummary(single('_summary'));
      let elementList = parseElements(single('_elements'));
      const unknownNames = elementList ? elements.unknown(types, elementList) : [];
      if (unknownNames.length) {
        ignore(unknownElements(types, unknownNames));
        const known = elementList!.filter((n) => !unknownNames.includes(n));
        elementList = known.length ? known : undefined;
      }
      // The _elements the page was shaped by, for its links (only the known names, or none).
      const elementsUsed = elementList?.join(',');
      const totalMode = (single('_total') ?? 'accurate') as TotalMode;
      if (!TOTAL_MODES.includes(totalMode)) throw badRequest(`Invalid _total value '${totalMode}'`, 'value');
      const countRaw = single('_count');
      let count = DEFAULT_COUNT;
      if (countRaw !== undefined) {
        if (!/^\d{1,9}$/.test(countRaw)) throw badRequest(`Invalid _count '${countRaw}'`, 'value');
        count = Math.min(Number(countRaw), MAX_COUNT);
      }
      const directives: IncludeDirective[] = [];
      for (const p of params) {
        const [n, v] = p;
        const b = paramBase(n);
        if (b !== '_include' && b !== '_revinclude') continue;
        try {
          directives.push(parseInclude(registry, n, v, types));
        } catch (err) {
          ignore(err, p);
        }
      }
      if (summary === 'text' && directives.length) {
        // search.html#summary: "the _include and _revinclude parameters cannot be mixed with _summary=text".
        ignore(
          badRequest('_include and _revinclude cannot be mixed with _summary=text (search.html#summary)', 'not-supported'),
          ...params.filter(([n]) => paramBase(n) === '_include' || paramBase(n) === '_revinclude'),
        );
        directives.length = 0;
      }
      const sortSpecs = compileSort(registry, types, single('_sort'));
      const cursorToken = single('_cursor');
      const cursor: Cursor | undefined = cursorToken ? decodeCursor(cursorToken, sortSpecs) : undefined;

      // selection
      const selecting = params.filter(([n]) => !isResultParam(n));
      const comp = req.compartment;
      const compiled = typesFilter(e, types, selecting, comp ? (t) => compartments.filter(comp.type, comp.id, t) : undefined);
      const filter = compiled instanceof Promise ? await compiled : compiled;
      if (ignoredBy) for (const [p, n] of ignoredBy) if (n >= types.length) (dropped ??= new Set()).add(p);

      const countOnly = summary === 'count' || count === 0;

      let rows: StoredVersion[] = [];
      let hasNext = false;
      let hasPrev = false;
      if (!countOnly) {
        const reverse = cursor?.d === 'p';
        const pageFilter = cursor ? allOf([filter, keysetFilter(sortSpecs, cursor.v, reverse)]) : filter;
        rows = await store.find({ types, filter: pageFilter, sort: toStoreSort(sortSpecs, reverse), limit: count + 1 });
        const more = rows.length > count;
        if (more) rows = rows.slice(0, count);
        if (reverse) {
          rows.reverse();
          hasPrev = more;
          hasNext = true;
        } else {
          hasNext = more;
          hasPrev = cursor !== undefined;
        }
      }

      const counted = searchTotal(
        { mode: totalMode, countOnly, paging: cursor !== undefined, rows: rows.length, hasNext, carried: cursor?.t },
        () => store.count(types, filter),
      );
      const total = counted instanceof Promise ? await counted : counted;

      const { included, truncated } = rows.length && directives.length
        ? await resolveIncludes(store, registry, extractor, rows, directives)
        : { included: [], truncated: false };
      if (truncated) issues.push({ severity: 'warning', code: 'too-costly', diagnostics: 'Included resources were truncated' });

      const entry: BundleEntry[] = [];
      const render = (v: StoredVersion, mode: 'match' | 'include') => {
        if (v.json === undefined) return;
        // _elements does not apply to included resources (search.html#elements); _summary does.
        const only = mode === 'match' ? elementList : undefined;
        // Whole resources go out as their stored JSON, never parsed (see raw-json.ts).
        if ((!summary || summary === 'false') && !only) entry.push(storedEntry(v.type, v.id, v.json, { mode }, v.plainKey));
        else entry.push({ fullUrl: `${base}/${v.type}/${v.id}`, resource: elements.apply(resourceOf(v), summary, only), search: { mode } });
      };
      for (const v of rows) render(v, 'match');
      for (const v of included) render(v, 'include');
      if (issues.length) entry.push({ resource: outcomeOf(issues), search: { mode: 'outcome' } });

      const linkBase = req.path ? `${base}/${req.path}` : base;
      const linkTo = (c?: Cursor) => {
        const pairs: Array<readonly [string, string]> = [];
        for (const p of params) {
          if (p[0] === '_cursor' || dropped?.has(p)) continue;
          if (p[0] !== '_elements') pairs.push(p);
          else if (elementsUsed) pairs.push(['_elements', elementsUsed]);
        }
        if (c) pairs.push(['_cursor', encodeCursor(c)]);
        const q = formEncode(pairs);
        return q ? `${linkBase}?${q}` : linkBase;
      };
      const link: BundleLink[] = [{ relation: 'self', url: linkTo(cursor) }];
      const t = totalMode === 'estimate' && total !== undefined ? { t: total } : {};
      if (hasNext && rows.length) link.push({ relation: 'next', url: linkTo({ d: 'n', v: rowValues(rows[rows.length - 1], sortSpecs, extractor), ...t }) });
      if (hasPrev && rows.length) link.push({ relation: 'previous', url: linkTo({ d: 'p', v: rowValues(rows[0], sortSpecs, extractor), ...t }) });

      const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset' };
      if (total !== undefined) bundle.total = total;
      bundle.link = link;
      if (entry.length) bundle.entry = entry;
      return bundle;
    },
  };
}

