import type { OperationOutcomeIssue } from 'fhir/r4.js';
import { badRequest, FhirError, notSupported } from '../fhir/errors.js';
import type { Filter, FindQuery, StoredVersion } from '../store/port.js';
import { allOf, anyOf, elem, missing, none, NOTHING } from './compiled.js';
import { compileComposite } from './compile-composite.js';
import { compileContained, compileList } from './compile-list.js';
import { dateCondition } from './compile-date.js';
import { numberCondition, quantityCondition } from './compile-number.js';
import { compileReference } from './compile-reference.js';
import { stringCondition } from './compile-string.js';
import { compileToken } from './compile-token.js';
import { uriCondition } from './compile-uri.js';
import type { IndexExtractor } from './extract.js';
import { escapeRegex } from './fold.js';
import { FIELD_OF } from './index-entries.js';
import type { ParamRegistry, ParamType } from './params.js';
import { orValues, unescapeValue } from './search-value.js';
import type { Terminology } from './terminology.js';

/** Most resources a chain or _has step may resolve to before the query is refused as too costly. */
export const MAX_JOIN = 10000;

export interface CompileEnv {
  registry: ParamRegistry;
  terminology: Terminology;
  extractor: IndexExtractor;
  /** Server base URL (no trailing slash). */
  base: string;
  /** Runs the inner queries of chains and _has. */
  find: (q: FindQuery) => Promise<StoredVersion[]>;
  /** Lenient mode collects ignored parameters here; strict mode (undefined) throws. */
  issues?: OperationOutcomeIssue[];
  /** Lenient mode: told of each parameter (the pair itself) it ignored, which the self link then leaves out. */
  ignored?: (param: readonly [string, string]) => void;
  now?: number;
}

/** Parameters that shape the result rather than select resources (handled by the engine). */
export const RESULT_PARAMS = new Set([
  '_count', '_sort', '_total', '_summary', '_elements', '_include', '_revinclude',
  '_format', '_pretty', '_cursor', '_type',
]);

const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

const INCLUDES = new Set(['_include', '_revinclude']);
/**
 * A result parameter as the engine reads it: its exact name, or _include/_revinclude with any
 * modifier (parseInclude takes :iterate and refuses the rest). "_count:x" is not one: it goes
 * on to compileFilter, which refuses it, where dropping it would silently ignore it.
 */
export const isResultParam = (name: string) => RESULT_PARAMS.has(name) || INCLUDES.has(paramBase(name));

/** A parameter's name without its modifier. */
export const paramBase = (name: string) => {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(0, colon);
};
const ID_SEARCH_MODIFIERS = new Set([undefined, 'not']);

/** A refusal that a lenient search reports instead: its issues as warnings, marked ignored. */
export function ignoredIssues(err: FhirError): OperationOutcomeIssue[] {
  return err.issues.map((i) => ({ ...i, severity: 'warning' as const, diagnostics: `Ignored: ${i.diagnostics ?? ''}` }));
}

/**
 * Compiles the selecting parameters of a search on one resource type to one MongoDB filter; a
 * promise only when a parameter runs inner queries (see compileParam). Parameters are compiled
 * in order, each after the one before.
 */
export function compileFilter(env: CompileEnv, type: string, params: ReadonlyArray<readonly [string, string]>): Filter | Promise<Filter> {
  const parts: Filter[] = [];
  for (let i = 0; i < params.length; i++) {
    const f = compileOne(env, type, params[i]);
    if (f instanceof Promise) return compileRest(env, type, params, i, f, parts);
    if (f) parts.push(f);
  }
  return allOf(parts);
}

/** compileFilter from parameter i on, whose filter is already pending (started once, not again). */
async function compileRest(
  env: CompileEnv,
  type: string,
  params: ReadonlyArray<readonly [string, string]>,
  i: number,
  pending: Promise<Filter | undefined>,
  parts: Filter[],
): Promise<Filter> {
  for (let k = i; k < params.length; k++) {
    const f = await (k === i ? pending : compileOne(env, type, params[k]));
    if (f) parts.push(f);
  }
  return allOf(parts);
}

/** One selecting parameter's filter; undefined for a result parameter, or one a lenient search ignores. */
function compileOne(env: CompileEnv, type: string, param: readonly [string, string]): Filter | undefined | Promise<Filter | undefined> {
  const [name, value] = param;
  if (isResultParam(name)) return undefined;
  const refused = (e: unknown): undefined => {
    if (!env.issues || !(e instanceof FhirError) || e.status !== 400 || e.issues.some((i) => i.code === 'too-costly')) throw e;
    env.issues.push(...ignoredIssues(e));
    env.ignored?.(param);
    return undefined;
  };
  try {
    const base = paramBase(name);
    if (RESULT_PARAMS.has(base)) throw badRequest(`Unsupported modifier in '${name}': the result parameter '${base}' takes none`, 'not-supported');
    const f = compileParam(env, type, name, value);
    return f instanceof Promise ? f.catch(refused) : f;
  } catch (e) {
    return refused(e);
  }
}

/**
 * One parameter's filter: a promise only for what runs inner queries (chains, _has, _list), so
 * that the common parameters cost no promise and no turn of the microtask queue each.
 */
function compileParam(env: CompileEnv, type: string, name: string, value: string): Filter | Promise<Filter> {
  if (name.startsWith('_has:')) return compileHas(env, type, name, value);
  const dot = name.indexOf('.');
  const head = dot < 0 ? name : name.slice(0, dot);
  const chain = dot < 0 ? undefined : name.slice(dot + 1);
  const colon = head.indexOf(':');
  const code = colon < 0 ? head : head.slice(0, colon);
  const modifier = colon < 0 ? undefined : head.slice(colon + 1);

  if (code === '_id' && !chain) return compileId(name, modifier, value);
  if (code === '_list' && !chain) return compileList(env.find, type, name, modifier, value, env.base, MAX_JOIN);
  if ((code === '_contained' || code === '_containedType') && !chain) return compileContained(name, modifier, value);
  if (code === '_lastUpdated' && !chain) {
    if (modifier) throw notSupported(`Unsupported modifier ':${modifier}' on '_lastUpdated'`);
    return anyOf(orValues(name, value).map((v) => dateCondition(name, v, 'lu', 'lu', env.now)));
  }
  const def = env.registry.get(type, code);
  if (!def) throw badRequest(`Unknown search parameter '${code}' for resource type '${type}'`, 'not-supported');
  if (!def.expression && def.type !== 'composite') throw notSupported(`Search parameter '${code}' is not supported`);
  if (chain !== undefined) {
    if (def.type !== 'reference') throw badRequest(`Parameter '${code}' is not a reference and cannot be chained`, 'invalid');
    return compileChain(env, type, name, code, modifier, def.targets, chain, value);
  }
  const field = FIELD_OF[def.type];
  if (!field) throw notSupported(`Search parameter '${code}' of type '${def.type}' is not supported`);
  if (modifier === 'missing') {
    const bad = (m: string) => badRequest(m, 'value');
    if (def.type !== 'reference') return missing(field, code, value, name, bad);
    // A Reference with only an identifier has a value too (indexed under <code>:identifier).
    const parts = [missing(field, code, value, name, bad), missing('tok', `${code}:identifier`, value, name, bad)];
    return value === 'true' ? allOf(parts) : anyOf(parts);
  }
  const values = orValues(name, value);
  const plain = (fn: (v: string) => Filter) => {
    if (modifier !== undefined) throw notSupported(`Unsupported modifier ':${modifier}' on ${def.type} parameter '${code}'`);
    return anyOf(values.map((v) => elem(field, code, fn(v))));
  };
  switch (def.type) {
    case 'string':
      return anyOf(values.map((v) => elem('str', code, stringCondition(code, modifier, v))));
    case 'token':
      return compileToken(code, code, modifier, values, env.terminology);
    case 'date':
      return plain((v) => dateCondition(code, v, 'lo', 'hi', env.now));
    case 'number':
      return plain((v) => numberCondition(code, v));
    case 'quantity':
      return plain((v) => quantityCondition(code, v));
    case 'uri':
      return anyOf(values.map((v) => elem('uri', code, uriCondition(code, modifier, v))));
    case 'reference':
      return compileReference(code, code, modifier, values, def.targets, env.base);
    case 'composite': {
      if (modifier !== undefined) throw notSupported(`Unsupported modifier ':${modifier}' on composite parameter '${code}'`);
      const types: ParamType[] = def.components.map((c) => {
        const t = env.registry.definition(c.definition)?.type;
        if (!t) throw notSupported(`Composite parameter '${code}' has an unknown component`);
        return t;
      });
      return anyOf(values.map((v) => compileComposite(code, code, types, v, env.base)));
    }
    default:
      throw notSupported(`Search parameter '${code}' of type '${def.type}' is not supported`);
  }
}

function compileId(name: string, modifier: string | undefined, value: string): Filter {
  if (!ID_SEARCH_MODIFIERS.has(modifier)) throw notSupported(`Unsupported modifier ':${modifier}' on '_id'`);
  const ids = orValues(name, value).map(unescapeValue).filter((v) => ID_RE.test(v));
  const f = ids.length ? { id: ids.length === 1 ? ids[0] : { $in: ids } } : NOTHING;
  return modifier === 'not' ? none([f]) : f;
}

/**
 * `subject:Patient.name=x`: resolve the inner search on the target types, then match references
 * to them. The inner search also runs inside contained resources (search.html, "Contained
 * resources"): containers whose `#id` target under this parameter meets it match too.
 */
async function compileChain(
  env: CompileEnv,
  type: string,
  name: string,
  code: string,
  modifier: string | undefined,
  targets: readonly string[],
  chain: string,
  value: string,
): Promise<Filter> {
  if (modifier !== undefined && !targets.includes(modifier)) {
    throw badRequest(`'${modifier}' is not a target type of '${code}' in '${name}'`, 'not-supported');
  }
  const innerCode = chain.split(/[.:]/)[0];
  const types = (modifier ? [modifier] : targets).filter(
    (t) => innerCode === '_id' || innerCode === '_lastUpdated' || innerCode === '_has' || env.registry.get(t, innerCode),
  );
  if (types.length === 0) throw badRequest(`Unknown chained parameter '${innerCode}' in '${name}'`, 'not-supported');
  const strict = { ...env, issues: undefined, ignored: undefined };
  const keys: string[] = [];
  const containers = new Set<string>();
  for (const t of types) {
    const inner = await compileParam(strict, t, chain, value);
    const found = await env.find({ types: [t], filter: inner, limit: MAX_JOIN + 1 });
    for (const v of found) keys.push(`${v.type}/${v.id}`);
    const inside = await env.find({ types: [type], filter: containedMatch(code, t, inner), limit: MAX_JOIN + 1 });
    for (const v of inside) containers.add(v.id);
    if (keys.length > MAX_JOIN || containers.size > MAX_JOIN) throw badRequest(`Chained search '${name}' matches too many resources`, 'too-costly');
  }
  const parts: Filter[] = [];
  if (keys.length) parts.push(elem('ref', code, { r: keys.length === 1 ? keys[0] : { $in: keys } }));
  if (containers.size) parts.push({ id: { $in: [...containers] } });
  return parts.length ? anyOf(parts) : NOTHING;
}

/** Containers with a contained resource of `type`, referenced under `code`, that meets `inner`. */
function containedMatch(code: string, type: string, inner: Filter): Filter {
  return { 'idx.ctd': { $elemMatch: { p: code, t: type, ...inner } } };
}

/** `_has:Observation:patient:code=x`: resources that some matching Observation references via `patient`. */
async function compileHas(env: CompileEnv, type: string, name: string, value: string): Promise<Filter> {
  const m = /^_has:([A-Z][A-Za-z]+):([A-Za-z0-9_-]+):(.+)$/.exec(name);
  if (!m) throw badRequest(`Invalid _has parameter '${name}'`, 'invalid');
  const [, other, refCode, rest] = m;
  const refDef = env.registry.get(other, refCode);
  if (!refDef || refDef.type !== 'reference') {
    throw badRequest(`'${refCode}' is not a reference parameter of '${other}' in '${name}'`, 'not-supported');
  }
  const strict = { ...env, issues: undefined, ignored: undefined };
  const inner = await compileParam(strict, other, rest, value);
  const filter = allOf([inner, elem('ref', refCode, { r: { $regex: '^' + escapeRegex(type) + '/' } })]);
  const found = await env.find({ types: [other], filter, limit: MAX_JOIN + 1 });
  if (found.length > MAX_JOIN) throw badRequest(`'${name}' matches too many resources`, 'too-costly');
  const ids = new Set<string>();
  for (const v of found) {
    if (!v.resource) continue;
    for (const e of env.extractor.valuesOf(v.resource, refCode)) {
      const r = e.r;
      if (typeof r === 'string' && r.startsWith(`${type}/`)) ids.add(r.slice(type.length + 1));
    }
  }
  return ids.size ? { id: { $in: [...ids] } } : NOTHING;
}
