import type { Filter } from '../port.js';

/** true / false when decided on plain values; undefined when mingo has to decide (see below). */
export type Verdict = boolean | undefined;
export type DocVerdict = (doc: object) => Verdict;

type Scalar = string | number | boolean;
const COMPARE = new Set(['$eq', '$gt', '$gte', '$lt', '$lte', '$in']);

/**
 * A filter of the shapes FHIR search leaves for the embedded store to evaluate after its hash
 * indexes (e.g. a date: `{ 'idx.dt': { $elemMatch: { p: 'date', $or: [{ hi: { $gt: n } }, ...] } } }`)
 * compiled to a plain predicate: conjunctions and disjunctions of `$elemMatch` over index
 * arrays and of equalities, comparisons and `$in` on scalars. mingo costs microseconds per
 * document, and a date clause is tested on every resource the indexes leave.
 *
 * The predicate decides only where the values are plain: a missing field, or a string, number
 * or boolean of the same type as the value asked for. On anything else (an array where a scalar
 * was expected, null, an object, a type mismatch, NaN) it answers undefined and the caller asks
 * mingo, so the answers are mingo's. Undefined for any other filter shape (mingo throughout).
 */
export function compileElemFilter(filter: Filter): DocVerdict | undefined {
  return objectCondition(filter);
}

function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && !Number.isNaN(v));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof RegExp) && !(v instanceof Date);
}

/** Three-valued AND (`decisive` false) or OR (`decisive` true): the decisive value wins, then unknown. */
function combine(parts: DocVerdict[], decisive: boolean): DocVerdict {
  if (parts.length === 1) return parts[0];
  return (d) => {
    let unknown = false;
    for (const p of parts) {
      const v = p(d);
      if (v === decisive) return decisive;
      if (v === undefined) unknown = true;
    }
    return unknown ? undefined : !decisive;
  };
}
const all = (parts: DocVerdict[]) => combine(parts, false);
const any = (parts: DocVerdict[]) => combine(parts, true);

/** A query document: field conditions plus $and / $or, all of which must hold. */
function objectCondition(filter: Filter): DocVerdict | undefined {
  if (!isPlainObject(filter)) return undefined;
  const parts: DocVerdict[] = [];
  for (const [key, cond] of Object.entries(filter)) {
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(cond) || cond.length === 0) return undefined;
      const subs = cond.map((c) => objectCondition(c as Filter));
      if (!subs.every((s): s is DocVerdict => s !== undefined)) return undefined;
      parts.push(key === '$and' ? all(subs) : any(subs));
      continue;
    }
    if (key.startsWith('$')) return undefined;
    const p = fieldCondition(key.split('.'), cond);
    if (!p) return undefined;
    parts.push(p);
  }
  return parts.length ? all(parts) : undefined;
}

/**
 * The value at a path; `unknown` when the path crosses an array (MongoDB then matches through
 * the array's elements, which is left to mingo).
 */
const UNKNOWN = Symbol('unknown');
function valueAt(doc: object, path: readonly string[]): unknown {
  let cur: unknown = doc;
  for (const part of path) {
    if (Array.isArray(cur)) return UNKNOWN;
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function fieldCondition(path: readonly string[], cond: unknown): DocVerdict | undefined {
  if (isScalar(cond)) return compare(path, '$eq', cond);
  if (!isPlainObject(cond)) return undefined;
  const ops = Object.entries(cond);
  if (ops.length === 0) return undefined;
  if (ops.length === 1 && ops[0][0] === '$elemMatch') return elemMatch(path, ops[0][1]);
  const parts: DocVerdict[] = [];
  for (const [op, v] of ops) {
    if (!COMPARE.has(op)) return undefined;
    const p = compare(path, op, v);
    if (!p) return undefined;
    parts.push(p);
  }
  return all(parts);
}

function elemMatch(path: readonly string[], inner: unknown): DocVerdict | undefined {
  const test = objectCondition(inner as Filter);
  if (!test) return undefined;
  return (d) => {
    const arr = valueAt(d, path);
    if (arr === undefined) return false;
    if (!Array.isArray(arr)) return undefined;
    let unknown = false;
    for (const el of arr) {
      if (!isPlainObject(el)) {
        unknown = true;
        continue;
      }
      const v = test(el);
      if (v === true) return true;
      if (v === undefined) unknown = true;
    }
    return unknown ? undefined : false;
  };
}

function compare(path: readonly string[], op: string, v: unknown): DocVerdict | undefined {
  const wanted = op === '$in' ? (Array.isArray(v) && v.length > 0 && v.every(isScalar) ? (v as Scalar[]) : undefined) : isScalar(v) ? [v] : undefined;
  if (!wanted) return undefined;
  const types = new Set(wanted.map((w) => typeof w));
  const one = wanted[0];
  const test: (x: Scalar) => boolean =
    op === '$eq' ? (x) => x === one
    : op === '$in' ? (x) => wanted.includes(x)
    : op === '$gt' ? (x) => x > one
    : op === '$gte' ? (x) => x >= one
    : op === '$lt' ? (x) => x < one
    : (x) => x <= one;
  return (d) => {
    const x = valueAt(d, path);
    if (x === undefined) return false;
    if (!isScalar(x) || !types.has(typeof x)) return undefined;
    return test(x);
  };
}
