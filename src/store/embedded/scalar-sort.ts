import type { Sort } from '../port.js';
import { firstK } from './first-k.js';

/**
 * Sorting by scalar fields (type, id, lu, precomputed sort keys) without the general MongoDB
 * sort: values are compared in MongoDB's order for the types that occur here (missing/null <
 * numbers < strings < booleans). Returns undefined when some value is an array or an object,
 * which the caller leaves to mingo's full implementation. With `first`, only the first rows in
 * order are returned, selected with a bounded heap instead of sorting everything (a page of a
 * large result).
 */
export function sortByScalars<T extends { doc: object }>(rows: T[], sort: Sort, first = Infinity): T[] | undefined {
  const n = rows.length;
  const nk = sort.length;
  const paths = sort.map(([field]) => field.split('.'));
  const dirs = sort.map(([, d]) => d);
  // One flat array of keys (row-major) instead of an array per row: this loop runs over every
  // match of a search, so allocation per row is what it costs.
  const keys: unknown[] = new Array(n * nk);
  for (let i = 0; i < n; i++) {
    const doc = rows[i].doc;
    for (let k = 0; k < nk; k++) {
      const v = getPath(doc, paths[k]);
      if (v !== null && typeof v === 'object') return undefined;
      keys[i * nk + k] = v;
    }
  }
  const cmp = (x: number, y: number) => {
    const bx = x * nk;
    const by = y * nk;
    for (let k = 0; k < nk; k++) {
      const a = keys[bx + k];
      const b = keys[by + k];
      if (a === b) continue;
      const c = typeof a === 'string' && typeof b === 'string' ? (a < b ? -1 : 1) : compare(a, b);
      if (c !== 0) return dirs[k] === 1 ? c : -c;
    }
    return x - y; // stable
  };
  let order: number[];
  if (first < n / 4) order = firstK(indexes(n), first, (x, y) => cmp(x, y) < 0);
  else {
    order = new Array<number>(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort(cmp);
    if (first < order.length) order.length = first;
  }
  const out = new Array<T>(order.length);
  for (let i = 0; i < order.length; i++) out[i] = rows[order[i]];
  return out;
}

const rank = (v: unknown) => (v === undefined || v === null ? 0 : typeof v === 'number' ? 1 : typeof v === 'string' ? 2 : 3);

function compare(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 0) return 0;
  // Strings: MongoDB's default (binary) comparison, as JavaScript's < does for UTF-16 code units of BMP text.
  return (a as number | string | boolean) < (b as number | string | boolean) ? -1 : (a as number | string | boolean) > (b as number | string | boolean) ? 1 : 0;
}

function getPath(obj: unknown, path: readonly string[]): unknown {
  let cur = obj;
  for (let i = 0; i < path.length; i++) {
    const part = path[i];
    if (cur === null || cur === undefined) return undefined;
    if (typeof cur !== 'object' || Array.isArray(cur)) return { notScalar: true };
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function indexes(n: number): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}
