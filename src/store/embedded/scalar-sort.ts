import type { Sort } from '../port.js';

/**
 * Sorting by scalar fields (type, id, lu, precomputed sort keys) without the general MongoDB
 * sort: values are compared in MongoDB's order for the types that occur here (missing/null <
 * numbers < strings < booleans). Returns undefined when some value is an array or an object,
 * which the caller leaves to mingo's full implementation.
 */
export function sortByScalars<T extends { doc: object }>(rows: T[], sort: Sort): T[] | undefined {
  const keys = rows.map((r) => sort.map(([field]) => getPath(r.doc, field)));
  for (const ks of keys) for (const v of ks) if (v !== null && typeof v === 'object') return undefined;
  const order = rows.map((_, i) => i);
  order.sort((x, y) => {
    for (let k = 0; k < sort.length; k++) {
      const c = compare(keys[x][k], keys[y][k]);
      if (c !== 0) return sort[k][1] === 1 ? c : -c;
    }
    return 0;
  });
  return order.map((i) => rows[i]);
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

function getPath(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const part of path.split('.')) {
    if (cur === null || cur === undefined) return undefined;
    if (typeof cur !== 'object' || Array.isArray(cur)) return cur === undefined ? undefined : { array: true };
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}
