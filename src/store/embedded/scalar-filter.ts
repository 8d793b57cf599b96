import type { Filter } from '../port.js';

type Doc = { type: string; id: string; vid: number; lu: number };
export type DocPredicate = (doc: Doc) => boolean;

/** The top-level fields of a search document, which always hold one string or number. */
const SCALAR_FIELDS = new Set(['type', 'id', 'vid', 'lu']);

/**
 * A filter over the top-level scalar fields only (a paging cursor's keyset: `type`, `id`, `lu`)
 * compiled to a plain predicate with MongoDB's semantics for those fields: comparisons only
 * between values of the same type. Undefined for anything else, which mingo evaluates; this
 * exists because mingo costs microseconds per document and a cursor page tests every match.
 */
export function compileScalarFilter(filter: Filter): DocPredicate | undefined {
  const parts: DocPredicate[] = [];
  for (const [field, cond] of Object.entries(filter)) {
    if (field === '$and' || field === '$or') {
      if (!Array.isArray(cond) || cond.length === 0) return undefined;
      const subs = cond.map((c) => (c && typeof c === 'object' && !Array.isArray(c) ? compileScalarFilter(c as Filter) : undefined));
      if (!subs.every((s): s is DocPredicate => s !== undefined)) return undefined;
      parts.push(field === '$and' ? (d) => subs.every((s) => s(d)) : (d) => subs.some((s) => s(d)));
      continue;
    }
    if (!SCALAR_FIELDS.has(field)) return undefined;
    const get = (d: Doc) => (d as unknown as Record<string, unknown>)[field];
    if (isScalar(cond)) {
      parts.push((d) => get(d) === cond);
      continue;
    }
    if (!cond || typeof cond !== 'object' || Array.isArray(cond)) return undefined;
    for (const [op, v] of Object.entries(cond as Record<string, unknown>)) {
      const p = operator(op, v, get);
      if (!p) return undefined;
      parts.push(p);
    }
  }
  if (parts.length === 1) return parts[0];
  return (d) => parts.every((p) => p(d));
}

function isScalar(v: unknown): v is string | number {
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

function operator(op: string, v: unknown, get: (d: Doc) => unknown): DocPredicate | undefined {
  switch (op) {
    case '$eq':
      return isScalar(v) ? (d) => get(d) === v : undefined;
    case '$exists':
      return typeof v === 'boolean' ? (d) => (get(d) !== undefined) === v : undefined;
    case '$in':
      return Array.isArray(v) && v.every(isScalar) ? (d) => v.includes(get(d) as string | number) : undefined;
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte': {
      if (!isScalar(v)) return undefined;
      const t = typeof v;
      const test =
        op === '$gt' ? (x: string | number) => x > v : op === '$gte' ? (x: string | number) => x >= v : op === '$lt' ? (x: string | number) => x < v : (x: string | number) => x <= v;
      return (d) => {
        const x = get(d);
        return typeof x === t && test(x as string | number);
      };
    }
    default:
      return undefined;
  }
}
