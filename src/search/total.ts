/**
 * Bundle.total for `_total` (search.html "Total"): `none` leaves it out; `accurate` is the exact
 * number of matches; `estimate` lets the server save the count. The count query is skipped
 * whenever the answer is known anyway: a first page that holds every match is the total. With
 * `estimate`, later pages repeat the total counted when paging began (carried in the cursor),
 * so deep paging costs no count per page; it drifts only by what changed meanwhile, which is
 * what an estimate may do.
 */
export type TotalMode = 'none' | 'estimate' | 'accurate';

export const TOTAL_MODES: readonly TotalMode[] = ['none', 'estimate', 'accurate'];

export interface PageFacts {
  mode: TotalMode;
  /** `_summary=count` or `_count=0`: the total is the answer. */
  countOnly: boolean;
  /** Paging position given (not the first page). */
  paging: boolean;
  /** Matches on this page, and whether there are more after it. */
  rows: number;
  hasNext: boolean;
  /** The total a cursor carried from earlier pages, if any. */
  carried?: number;
}

/** The total, or the count query when it is needed (a promise then only). */
export function searchTotal(page: PageFacts, count: () => Promise<number>): number | undefined | Promise<number> {
  if (page.countOnly) return count();
  if (page.mode === 'none') return undefined;
  if (!page.paging && !page.hasNext) return page.rows;
  if (page.mode === 'estimate' && page.carried !== undefined) return page.carried;
  return count();
}
