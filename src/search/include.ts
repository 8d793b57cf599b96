import { badRequest } from '../fhir/errors.js';
import type { FindQuery, StoredVersion } from '../store/port.js';
import type { IndexExtractor } from './extract.js';
import type { ParamRegistry } from './params.js';

/** Most resources _include/_revinclude add to one page. */
export const MAX_INCLUDED = 1000;
const MAX_ITERATIONS = 4;

export interface IncludeDirective {
  rev: boolean;
  iterate: boolean;
  source: string;
  /** Reference parameter code, or '*' for all of them. */
  code: string;
  target?: string;
}

/**
 * `_include[:iterate]=Source:param[:Target]`, with `*` for the parameter (every reference
 * parameter of Source) or for the whole value (every reference parameter of every type): "Both
 * _include and _revinclude use the wild card "*" for the search parameter name" (search.html).
 * Given the search's `types`, one without :iterate must be able to reach something: an
 * _include's source among the types, a _revinclude's parameter (or its Target) pointing at one
 * of them. It would be silently empty.
 */
export function parseInclude(registry: ParamRegistry, name: string, value: string, types?: readonly string[]): IncludeDirective {
  const [base, mod] = name.split(':');
  const rev = base === '_revinclude';
  if (mod !== undefined && mod !== 'iterate' && mod !== 'recurse') throw badRequest(`Unsupported modifier ':${mod}' on '${base}'`, 'not-supported');
  const iterate = mod !== undefined;
  if (value === '*') return { rev, iterate, source: '*', code: '*' };
  const [source, code, target, extra] = value.split(':');
  if (!source || !code || extra !== undefined) throw badRequest(`Invalid ${base} value '${value}'`, 'value');
  if (!registry.resourceTypes.includes(source)) throw badRequest(`Unknown resource type '${source}' in ${base}`, 'not-supported');
  if (code !== '*') {
    const def = registry.get(source, code);
    if (!def || def.type !== 'reference') throw badRequest(`'${code}' is not a reference parameter of '${source}' in ${base}`, 'not-supported');
    if (target && !def.targets.includes(target)) throw badRequest(`'${target}' is not a target of '${source}:${code}'`, 'not-supported');
    if (types && !iterate && rev && !(target ? [target] : def.targets).some((t) => types.includes(t))) {
      throw badRequest(`${name}=${value} can include nothing: '${source}:${code}' does not point at ${types.join(', ')} (use :iterate for included resources)`, 'not-supported');
    }
  } else if (types && !iterate && rev && !reverseCodes(registry, source, types, target).length) {
    throw badRequest(`${name}=${value} can include nothing: no reference parameter of '${source}' points at ${types.join(', ')} (use :iterate for included resources)`, 'not-supported');
  }
  if (types && !iterate && !rev && !types.includes(source)) {
    throw badRequest(`${name}=${value} can include nothing: this search returns no ${source} (use :iterate for included resources)`, 'not-supported');
  }
  return { rev, iterate, source, code, target };
}

/** Reference parameters of `source` that can point at one of `types` (at `target` only, when given). */
function reverseCodes(registry: ParamRegistry, source: string, types: readonly string[], target?: string): string[] {
  const wanted = target ? types.filter((t) => t === target) : types;
  return registry
    .forType(source)
    .filter((p) => p.type === 'reference' && p.targets.some((t) => wanted.includes(t)))
    .map((p) => p.code);
}

export interface IncludeReader {
  readMany(keys: readonly string[]): Promise<StoredVersion[]>;
  find(q: FindQuery): Promise<StoredVersion[]>;
}

/**
 * Resources to add with search.mode = include: those the matches reference (_include) and
 * those referencing the matches (_revinclude); `:iterate` directives also run on what was
 * included, until nothing new appears. Returns the included resources and whether the cap cut it.
 */
export async function resolveIncludes(
  reader: IncludeReader,
  registry: ParamRegistry,
  extractor: IndexExtractor,
  matches: readonly StoredVersion[],
  directives: readonly IncludeDirective[],
): Promise<{ included: StoredVersion[]; truncated: boolean }> {
  const seen = new Set(matches.map((m) => `${m.type}/${m.id}`));
  const included: StoredVersion[] = [];
  let frontier: readonly StoredVersion[] = matches;
  let truncated = false;
  for (let round = 0; round <= MAX_ITERATIONS && frontier.length && directives.length; round++) {
    const active = directives.filter((d) => round === 0 || d.iterate);
    if (!active.length) break;
    const found: StoredVersion[] = [];
    const add = (v: StoredVersion) => {
      const k = `${v.type}/${v.id}`;
      if (seen.has(k)) return;
      if (included.length + found.length >= MAX_INCLUDED) {
        truncated = true;
        return;
      }
      seen.add(k);
      found.push(v);
    };
    // forward: references out of the frontier
    const wanted = new Set<string>();
    for (const d of active.filter((x) => !x.rev)) {
      for (const v of frontier) {
        if (!v.resource || (d.source !== '*' && d.source !== v.type)) continue;
        const codes = d.code === '*' ? registry.forType(v.type).filter((p) => p.type === 'reference').map((p) => p.code) : [d.code];
        for (const code of codes) {
          for (const e of extractor.valuesOf(v.resource, code)) {
            const r = e.r;
            if (typeof r !== 'string' || !/^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(r)) continue;
            if (d.target && !r.startsWith(`${d.target}/`)) continue;
            if (!seen.has(r)) wanted.add(r);
          }
        }
      }
    }
    if (wanted.size) for (const v of await reader.readMany([...wanted].slice(0, MAX_INCLUDED))) add(v);
    // reverse: resources whose parameter references the frontier
    const keys = frontier.map((v) => `${v.type}/${v.id}`);
    const frontierTypes = [...new Set(frontier.map((v) => v.type))];
    for (const d of active.filter((x) => x.rev)) {
      const refs = d.target ? keys.filter((k) => k.startsWith(`${d.target}/`)) : keys;
      if (!refs.length) continue;
      // A wildcard asks every reference parameter (of every type, for '*') that can point at the
      // frontier, in one query: an entry of one type under a code another type uses still names a
      // frontier resource through its own parameter of that code, so the union of codes is exact.
      const sources = d.source === '*' ? registry.resourceTypes : [d.source];
      const codesBySource = sources.map((source) => (d.code === '*' ? reverseCodes(registry, source, frontierTypes, d.target) : [d.code]));
      const reaching = sources.filter((_, k) => codesBySource[k].length);
      const codes = [...new Set(codesBySource.flat())];
      if (!codes.length) continue;
      const rows = await reader.find({
        types: reaching,
        filter: { 'idx.ref': { $elemMatch: { p: codes.length === 1 ? codes[0] : { $in: codes }, r: { $in: refs } } } },
        limit: MAX_INCLUDED + 1,
      });
      for (const v of rows) add(v);
    }
    included.push(...found);
    frontier = found;
  }
  return { included, truncated };
}
