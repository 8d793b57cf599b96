import type { Sort } from '../port.js';

/**
 * Sorting by scalar fields (type, id, lu, precomputed sort keys) without the general MongoDB
 * sort: values are compared in MongoDB's order for the types that occur here (missing/null <
 * numbers < strings < booleans). Returns undefined when some value is an array or an object,
 * which the caller leaves to mingo's full implementation. With `first`, only the first rows in
 * order are returned, selected with a bounded heap instead of sorting everything (a page of a
 * large result).
 */
export function sortByScalars<T extends { doc: object }>(rows: T[], sort: Sort, first = Infinity): T[] | undefined {
  const paths = sort.map(([field]) => field.split('.'));
  const dirs = sort.map(([, d]) => d);
  const keys: unknown[][] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const ks = paths.map((p) => getPath(rows[i].doc, p));
    for (const v of ks) if (v !== null && typeof v === 'object') return undefined;
    keys[i] = ks;
  }
  const cmp = (x: number, y: number) => {
    for (let k = 0; k < dirs.length; k++) {
      const c = compare(keys[x][k], keys[y][k]);
      if (c !== 0) return dirs[k] === 1 ? c : -c;
    }
    return x - y; // stable
  };
  let order: number[];
  if (first < rows.length / 4) order = smallest(rows.length, first, cmp);
  else {
    order = rows.map((_, i) => i);
    order.sort(cmp);
    if (first < order.length) order.length = first;
  }
  return order.map((i) => rows[i]);
}

/** The `k` smallest of 0..n-1 under cmp, in order: a max-heap of size k. */
function smallest(n: number, k: number, cmp: (a: number, b: number) => number): number[] {
  const heap: number[] = [];
  const up = (i: number) => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (cmp(heap[i], heap[p]) <= 0) break;
      [heap[i], heap[p]] = [heap[p], heap[i]];
      i = p;
    }
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && cmp(heap[l], heap[m]) > 0) m = l;
      if (r < heap.length && cmp(heap[r], heap[m]) > 0) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let i = 0; i < n && k > 0; i++) {
    if (heap.length < k) {
      heap.push(i);
      up(heap.length - 1);
    } else if (cmp(i, heap[0]) < 0) {
      heap[0] = i;
      down(0);
    }
  }
  return heap.sort(cmp);
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
  for (const part of path) {
    if (cur === null || cur === undefined) return undefined;
    if (typeof cur !== 'object' || Array.isArray(cur)) return { notScalar: true };
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}
