import { topKeys } from './top-keys.js';

/** How many recent queries keep their answer (a few dashboards or paging clients at once). */
const KEPT = 16;

/** What is decided: the store's versions, each with its "Type/id" key. */
interface Keyed {
  readonly key: string;
}

interface Entry<M extends Keyed> {
  /** The commit epoch of the query's types when computed: a commit to any of them invalidates it. */
  epoch: number;
  found: ReadonlySet<M> | undefined;
  uses: number;
  /** All of them in (type, id) order, built once the same query came back. */
  sorted?: M[];
}

const byKey = (a: Keyed, b: Keyed) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * What the hash indexes decide for recent queries (e.g. patient + status, or code =
 * system|code), kept while none of the query's resource types had a commit. A search counts
 * and then fetches its first page with the same filter, and dashboards repeat the same
 * population query: the second time, the answer is sorted once by key, and every later page in
 * the default order is a slice instead of a pass over all of it.
 */
export class DecidedSets<Q, M extends Keyed> {
  private readonly kept = new Map<string, Entry<M>>();

  constructor(
    private readonly epochOf: (types: readonly string[]) => number,
    /** The memo key of a query (`Q`: the filter as the store reads it). */
    private readonly keyOf: (types: readonly string[], query: Q) => string,
    /**
     * A query's decided set, planned: `keep` when it costs enough to compute to be worth a
     * place in the memo, `run` computes it (undefined when the query is not decided).
     */
    private readonly plan: (types: readonly string[], query: Q) => { keep: boolean; run(): ReadonlySet<M> | undefined },
  ) {}

  /** The decided set, or undefined when the indexes do not decide the filter. */
  found(types: readonly string[], query: Q): ReadonlySet<M> | undefined {
    return this.entry(types, query).found;
  }

  /**
   * Items skip..skip+limit in (type, id) order, ascending or descending, among those `accept`s
   * (a paging cursor's keyset); undefined if the filter is not decided.
   */
  page(
    types: readonly string[],
    query: Q,
    skip: number,
    limit: number,
    descending: boolean,
    accept?: (m: M) => boolean,
    bound?: { key: string; after: boolean },
  ): M[] | undefined {
    const e = this.entry(types, query);
    if (!e.found) return undefined;
    e.uses++;
    if (bound && e.found.size > skip + limit) {
      // A cursor page: the items after (before) the cursor's key, found by binary search.
      e.sorted ??= [...e.found].sort(byKey);
      const s = e.sorted;
      let lo = 0;
      let hi = s.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (bound.after ? s[mid].key <= bound.key : s[mid].key < bound.key) lo = mid + 1;
        else hi = mid;
      }
      if (bound.after) return s.slice(lo + skip, lo + skip + limit);
      const out: M[] = [];
      for (let i = lo - 1 - skip; i >= 0 && out.length < limit; i--) out.push(s[i]);
      return out;
    }
    // Sorted once the query comes back (the next page, or the same page again).
    if (!e.sorted && e.uses > 1 && e.found.size > skip + limit) e.sorted = [...e.found].sort(byKey);
    if (!e.sorted) {
      const items = accept ? [...e.found].filter(accept) : e.found;
      return topKeys(items, skip + limit, descending).slice(skip);
    }
    const s = e.sorted;
    if (!accept && !descending) return s.slice(skip, skip + limit);
    const out: M[] = [];
    let skipped = 0;
    const take = (m: M) => {
      if (accept && !accept(m)) return;
      if (skipped < skip) skipped++;
      else out.push(m);
    };
    if (descending) for (let i = s.length - 1; i >= 0 && out.length < limit; i--) take(s[i]);
    else for (let i = 0; i < s.length && out.length < limit; i++) take(s[i]);
    return out;
  }

  private entry(types: readonly string[], query: Q): Entry<M> {
    const planned = this.plan(types, query);
    // A cheap answer (a patient's few resources) is computed again every time, and neither its
    // key is made nor the memo asked: kept, a stream of patient-scoped queries would push a
    // dashboard's population query out (and every kept set outlives young collections). No
    // kept answer can be current for it: one computed since the last commit to its types
    // planned the same work, so it was not kept either.
    if (!planned.keep) return { epoch: -1, found: planned.run(), uses: 0 };
    const epoch = this.epochOf(types);
    const key = this.keyOf(types, query);
    const e = this.kept.get(key);
    if (e && e.epoch === epoch) {
      this.kept.delete(key); // most recently used last
      this.kept.set(key, e);
      return e;
    }
    const fresh: Entry<M> = { epoch, found: planned.run(), uses: 0 };
    this.kept.delete(key);
    this.kept.set(key, fresh);
    if (this.kept.size > KEPT) this.kept.delete(this.kept.keys().next().value as string);
    return fresh;
  }
}
