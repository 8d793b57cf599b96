import type { DistinctQuery, Filter } from '../port.js';
import { queryKey } from './query-key.js';
import { distinctCollector } from '../distinct-elements.js';

/** What the embedded store lends this module: its commit counter and its filter matching. */
export interface DistinctSource {
  /** Changes whenever something is committed. */
  commits(): number;
  /** Current live search documents matching the filter (the store's hash indexes narrow them). */
  matching(types: readonly string[], filter: Filter): Iterable<{ doc: object }>;
}

/** Distinct value lists kept between commits (a few queries page through at once: a month's candidates). */
const KEPT = 8;

/**
 * `distinct` of the embedded store. The sorted values of a query are kept until the next commit,
 * so paging through them (one call per page, each after the previous page's last value) costs one
 * pass over the matching index values, not one per page; only strings are kept, never resources.
 */
export class DistinctValues {
  private readonly kept = new Map<string, string[]>();
  private at = -1;

  constructor(private readonly source: DistinctSource) {}

  values(q: DistinctQuery): string[] {
    if (q.limit <= 0) return [];
    const all = this.sorted(q);
    let lo = 0;
    if (q.after !== undefined) {
      let hi = all.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (all[mid] <= q.after) lo = mid + 1;
        else hi = mid;
      }
    }
    return all.slice(lo, lo + q.limit);
  }

  private sorted(q: DistinctQuery): string[] {
    const commits = this.source.commits();
    if (commits !== this.at) {
      this.kept.clear();
      this.at = commits;
    }
    const key = queryKey([q.types, q.filter, q.field, q.where ?? {}, q.key, q.prefix ?? '']);
    const hit = this.kept.get(key);
    if (hit) return hit;
    const collect = distinctCollector(q);
    const seen = new Set<string>();
    for (const { doc } of this.source.matching(q.types, q.filter)) collect(doc, seen);
    const all = [...seen].sort();
    if (this.kept.size >= KEPT) this.kept.delete(this.kept.keys().next().value!);
    this.kept.set(key, all);
    return all;
  }
}
