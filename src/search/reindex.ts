import type { Resource } from 'fhir/r4.js';
import type { ResourceStore } from '../store/port.js';

export interface ReindexOptions {
  /** Resources per transaction. */
  batch?: number;
  /** Only these types (default: all). */
  types?: string[];
  onProgress?: (done: number) => void;
}

/**
 * Re-extracts the index values of every current resource after search parameter definitions
 * changed, with the store's index-only update (no new version, lastUpdated unchanged). A
 * resource written concurrently is skipped: its new version already carries fresh values.
 * Walks in (type, id) order with a keyset, so it never skips and can run on a live server.
 */
export async function reindexAll(
  store: ResourceStore,
  engine: { extractIndex(resource: Resource): Record<string, unknown> },
  opts: ReindexOptions = {},
): Promise<{ reindexed: number; skipped: number }> {
  const batch = opts.batch ?? 200;
  let reindexed = 0;
  let skipped = 0;
  let after: { type: string; id: string } | undefined;
  for (;;) {
    const page = await store.find({
      types: opts.types ?? [],
      filter: after ? { $or: [{ type: { $gt: after.type } }, { type: after.type, id: { $gt: after.id } }] } : {},
      sort: [
        ['type', 1],
        ['id', 1],
      ],
      limit: batch,
    });
    if (page.length === 0) break;
    for (const v of page) {
      if (!v.resource) continue;
      if (await store.setIndex(v.type, v.id, v.vid, engine.extractIndex(v.resource))) reindexed++;
      else skipped++;
    }
    const last = page[page.length - 1];
    after = { type: last.type, id: last.id };
    opts.onProgress?.(reindexed + skipped);
    if (page.length < batch) break;
  }
  return { reindexed, skipped };
}
