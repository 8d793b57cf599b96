import { topKeys } from './top-keys.js';

/** How many recent queries keep their answer (a few dashboards or paging clients at once). */
const KEPT = 16;

interface Entry {
  /** The commit epoch of the query's types when computed: a commit to any of them invalidates it. */
  epoch: number;
  keys: ReadonlySet<string> | undefined;
  uses: number;
  /** All keys in (type, id) order, built once the same query came back. */
  sorted?: string[];
}

/**
 * The "Type/id" keys that the hash indexes decide for recent queries (e.g. patient + status,
 * or code = system|code), kept while none of the query's resource types had a commit. A
 * search counts and then fetches its first page with the same filter, and dashboards repeat
 * the same population query: the second time, the keys are sorted once, and every later page
 * in the default order is a slice instead of a pass over all of them.
 */
export class DecidedKeys<Q> {
  private readonly kept = new Map<string, Entry>();

  constructor(
    private readonly epochOf: (types: readonly string[]) => number,
    /** The memo key of a query (`Q`: the filter as the store reads it). */
    private readonly keyOf: (types: readonly string[], query: Q) => string,
    /**
     * A query's decided keys, planned: `keep` when they cost enough to compute to be worth a
     * place in the memo, `run` computes them (undefined when the query is not decided).
     */
    private readonly plan: (types: readonly string[], query: Q) => { keep: boolean; run(): ReadonlySet<string> | undefined },
  ) {}

  /** The decided key set, or undefined when the indexes do not decide the filter. */
  keys(types: readonly string[], query: Q): ReadonlySet<string> | undefined {
    return this.entry(types, query).keys;
  }

  /**
   * Keys skip..skip+limit in (type, id) order, ascending or descending, among those `accept`s
   * (a paging cursor's keyset); undefined if the filter is not decided.
   */
  page(
    types: readonly string[],
    query: Q,
    skip: number,
    limit: number,
    descending: boolean,
    accept?: (key: string) => boolean,
    bound?: { key: string; after: boolean },
  ): string[] | undefined {
    const e = this.entry(types, query);
    if (!e.keys) return undefined;
    e.uses++;
    if (bound && e.keys.size > skip + limit) {
      // A cursor page: the keys after (before) the cursor's, found by binary search.
      e.sorted ??= [...e.keys].sort();
      const s = e.sorted;
      let lo = 0;
      let hi = s.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (bound.after ? s[mid] <= bound.key : s[mid] < bound.key) lo = mid + 1;
        else hi = mid;
      }
      if (bound.after) return s.slice(lo + skip, lo + skip + limit);
      const out: string[] = [];
      for (let i = lo - 1 - skip; i >= 0 && out.length < limit; i--) out.push(s[i]);
      return out;
    }
    // Sorted once the query comes back (the next page, or the same page again).
    if (!e.sorted && e.uses > 1 && e.keys.size > skip + limit) e.sorted = [...e.keys].sort();
    if (!e.sorted) {
      const keys = accept ? [...e.keys].filter(accept) : e.keys;
      return topKeys(keys, skip + limit, descending).slice(skip);
    }
    const s = e.sorted;
    if (!accept && !descending) return s.slice(skip, skip + limit);
    const out: string[] = [];
    let skipped = 0;
    const take = (k: string) => {
      if (accept && !accept(k)) return;
      if (skipped < skip) skipped++;
      else out.push(k);
    };
    if (descending) for (let i = s.length - 1; i >= 0 && out.length < limit; i--) take(s[i]);
    else for (let i = 0; i < s.length && out.length < limit; i++) take(s[i]);
    return out;
  }

  private entry(types: readonly string[], query: Q): Entry {
    const planned = this.plan(types, query);
    // A cheap answer (a patient's few resources) is computed again every time, and neither its
    // key is made nor the memo asked: kept, a stream of patient-scoped queries would push a
    // dashboard's population query out (and every kept set outlives young collections). No
    // kept answer can be current for it: one computed since the last commit to its types
    // planned the same work, so it was not kept either.
    if (!planned.keep) return { epoch: -1, keys: planned.run(), uses: 0 };
    const epoch = this.epochOf(types);
    const key = this.keyOf(types, query);
    const e = this.kept.get(key);
    if (e && e.epoch === epoch) {
      this.kept.delete(key); // most recently used last
      this.kept.set(key, e);
      return e;
    }
    const fresh: Entry = { epoch, keys: planned.run(), uses: 0 };
    this.kept.delete(key);
    this.kept.set(key, fresh);
    if (this.kept.size > KEPT) this.kept.delete(this.kept.keys().next().value as string);
    return fresh;
  }
}
