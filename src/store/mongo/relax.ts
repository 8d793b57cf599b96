import type { Filter } from '../port.js';

/**
 * Filter relaxation for servers that misanswer `$elemMatch` over arrays of subdocuments
 * (FerretDB 1.x: rejected as "unknown operator", or silently wrong: range conditions applied
 * across different elements, whole-subdocument equality matching nothing).
 *
 * `relaxFilter(f)` returns a filter R that such a server answers correctly and that is a
 * superset of f: every document matching f matches R. The adapter sends R, then applies the
 * exact f in-process (mingo) to the candidates. R keeps only what is safe:
 *
 * - `$elemMatch: {a: x, b: {$in: [..]}, ...}` at path P becomes dotted-path conditions on its
 *   equality/`$in`/anchored-regex members (`P.a: x`, `P.b: {$in: [..]}`): each holds when one
 *   element meets the whole `$elemMatch`. Ranges, `$exists` and negations inside are dropped.
 * - equality to a scalar, `$in` of scalars, anchored `^...` `$regex` anywhere; ranges and
 *   `$exists` only on paths known to hold a scalar (`scalarPath`: never an array);
 * - `$and` of relaxed parts; `$or` of relaxed branches (match-all when any branch is);
 * - `$nor` and `$not` cannot be relaxed (a superset of the negated clause gives a *subset*):
 *   kept verbatim when the negated part is exact, else replaced by match-all.
 *
 * `exact` is true when R is f unchanged in meaning (nothing dropped or rewritten), so the
 * server's answer needs no in-process check and sort/skip/limit can run on the server.
 */
export interface Relaxed {
  filter: Filter;
  exact: boolean;
}

/** Top-level search-document fields that never hold arrays. */
export function defaultScalarPath(path: string): boolean {
  return path === '_id' || path === 'type' || path === 'id' || path === 'vid' || path === 'lu' || path === 'deleted' || /^idx\.srt\.[^.]+\.[ad]$/.test(path);
}

type Part = { f: Filter | null; exact: boolean };
const ALL: Part = { f: null, exact: false };

export function relaxFilter(filter: Filter, scalarPath: (path: string) => boolean = defaultScalarPath): Relaxed {
  const r = relaxDoc(filter, '', scalarPath);
  return { filter: r.f ?? {}, exact: r.exact };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RegExp) && !(v instanceof Date);
}

function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function and(parts: Part[]): Part {
  const fs = parts.map((p) => p.f).filter((f): f is Filter => f !== null);
  const exact = parts.every((p) => p.exact);
  if (fs.length === 0) return { f: null, exact };
  if (fs.length === 1) return { f: fs[0], exact };
  // one document when the keys do not collide (same meaning, easier to read in logs)
  const merged: Filter = {};
  for (const f of fs) {
    for (const [k, v] of Object.entries(f)) {
      if (k in merged) return { f: { $and: fs }, exact };
      merged[k] = v;
    }
  }
  return { f: merged, exact };
}

/** A query document whose field names are relative to `prefix` ('' at the top level). */
function relaxDoc(doc: Filter, prefix: string, scalarPath: (path: string) => boolean): Part {
  if (!isPlainObject(doc)) return ALL;
  const parts: Part[] = [];
  for (const [k, v] of Object.entries(doc)) {
    if (k === '$and') {
      if (!Array.isArray(v)) return ALL;
      for (const sub of v) parts.push(relaxDoc(sub as Filter, prefix, scalarPath));
    } else if (k === '$or') {
      if (!Array.isArray(v) || v.length === 0) return ALL;
      const branches = v.map((sub) => relaxDoc(sub as Filter, prefix, scalarPath));
      const exact = branches.every((b) => b.exact);
      if (branches.some((b) => b.f === null)) parts.push({ f: null, exact });
      else parts.push({ f: branches.length === 1 ? branches[0].f : { $or: branches.map((b) => b.f) }, exact });
    } else if (k === '$nor') {
      if (!Array.isArray(v)) return ALL;
      // Only an exact clause may be negated; anything else: match all, checked in-process.
      const inner = v.map((sub) => relaxDoc(sub as Filter, prefix, scalarPath));
      if (prefix === '' && inner.every((b) => b.exact && b.f !== null)) parts.push({ f: { $nor: inner.map((b) => b.f) }, exact: true });
      else parts.push(ALL);
    } else if (k.startsWith('$')) {
      parts.push(ALL); // $expr, $text, $comment, ...: not sent
    } else {
      parts.push(relaxField(prefix ? `${prefix}.${k}` : k, v, prefix !== '', scalarPath));
    }
  }
  return and(parts);
}

/** An anchored regex without top-level alternation: a prefix match FerretDB answers over arrays too. */
export function isAnchoredRegex(source: string): boolean {
  if (!source.startsWith('^')) return false;
  let depth = 0;
  let inClass = false;
  for (let i = 1; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return false;
  }
  return true;
}

const RANGE = new Set(['$gt', '$gte', '$lt', '$lte']);

/** The condition on one field; `inElem` = the path crosses an $elemMatch (never a scalar path). */
function relaxField(path: string, cond: unknown, inElem: boolean, scalarPath: (path: string) => boolean): Part {
  if (isScalar(cond)) return { f: { [path]: cond }, exact: true };
  if (!isPlainObject(cond)) return ALL; // null, arrays, RegExp, Date: not sent
  const keys = Object.keys(cond);
  if (keys.length === 0 || !keys.every((k) => k.startsWith('$'))) return ALL; // whole-subdocument equality
  const scalar = !inElem && scalarPath(path);
  const kept: Record<string, unknown> = {};
  const extra: Part[] = [];
  let exact = true;
  for (const op of keys) {
    const v = cond[op];
    if (op === '$eq' && isScalar(v)) kept.$eq = v;
    else if (op === '$in' && Array.isArray(v) && v.every(isScalar)) kept.$in = v;
    else if (op === '$regex' && typeof v === 'string' && cond.$options === undefined && isAnchoredRegex(v)) kept.$regex = v;
    else if (RANGE.has(op) && scalar && isScalar(v) && typeof v !== 'boolean') kept[op] = v;
    else if (op === '$exists' && scalar && typeof v === 'boolean') kept.$exists = v;
    else if (op === '$elemMatch' && isPlainObject(v) && !Object.keys(v).some((k) => k.startsWith('$') && k !== '$and' && k !== '$or' && k !== '$nor')) {
      // Members become dotted-path conditions: a superset, never exact (co-location is lost).
      extra.push({ ...relaxDoc(v, path, scalarPath), exact: false });
    } else exact = false;
  }
  const parts: Part[] = [...extra];
  if (Object.keys(kept).length) parts.push({ f: { [path]: kept }, exact });
  else parts.push({ f: null, exact });
  return and(parts);
}
