/**
 * The first `k` items in the order `before`, sorted, chosen with a bounded max-heap: a page of
 * a large result without sorting all of it. Most items cost one comparison with the root.
 */
export function firstK<T>(items: Iterable<T>, k: number, before: (a: T, b: T) => boolean): T[] {
  if (k <= 0) return [];
  const heap: T[] = []; // root = the last of the k kept so far
  const up = (i: number) => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(heap[p], heap[i])) break;
      const t = heap[i];
      heap[i] = heap[p];
      heap[p] = t;
      i = p;
    }
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[m], heap[l])) m = l;
      if (r < heap.length && before(heap[m], heap[r])) m = r;
      if (m === i) return;
      const t = heap[i];
      heap[i] = heap[m];
      heap[m] = t;
      i = m;
    }
  };
  for (const item of items) {
    if (heap.length < k) {
      heap.push(item);
      up(heap.length - 1);
    } else if (before(item, heap[0])) {
      heap[0] = item;
      down(0);
    }
  }
  if (heap.length > 32) return heap.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  // A page-sized result is ordered in place: Array.prototype.sort allocates working storage per call.
  for (let i = 1; i < heap.length; i++) {
    const x = heap[i];
    let j = i - 1;
    for (; j >= 0 && before(x, heap[j]); j--) heap[j + 1] = heap[j];
    heap[j + 1] = x;
  }
  return heap;
}
