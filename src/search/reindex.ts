import type { Resource } from 'fhir/r4.js';
import { VersionConflict, type ResourceStore, type StoredVersion } from '../store/port.js';

export interface ReindexOptions {
  /** Resources per transaction. */
  batch?: number;
  /** Only these types (default: all). */
  types?: string[];
  onProgress?: (done: number) => void;
}

/**
 * Re-extracts the index values of every current resource after search parameter definitions
 * changed. The store port offers no index-only update, so each resource is written again
 * through a transaction put (a new version with the same content); `expectVid` makes a
 * concurrent write win, since that write already carries fresh index values.
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
    // Without multi-resource transactions (e.g. FerretDB) each resource is its own unit of work.
    let oneByOne = !store.capabilities.transactions;
    if (!oneByOne) {
      try {
        await store.transact(async (tx) => {
          for (const v of page) await rewrite(tx, v, engine);
        });
        reindexed += page.length;
      } catch (e) {
        if (!(e instanceof VersionConflict)) throw e;
        oneByOne = true;
      }
    }
    if (oneByOne) {
      // one at a time, leaving the versions of concurrent writers alone
      for (const v of page) {
        try {
          await store.transact((tx) => rewrite(tx, v, engine));
          reindexed++;
        } catch (err) {
          if (!(err instanceof VersionConflict)) throw err;
          skipped++;
        }
      }
    }
    const last = page[page.length - 1];
    after = { type: last.type, id: last.id };
    opts.onProgress?.(reindexed + skipped);
    if (page.length < batch) break;
  }
  return { reindexed, skipped };
}

async function rewrite(
  tx: Parameters<Parameters<ResourceStore['transact']>[0]>[0],
  v: StoredVersion,
  engine: { extractIndex(resource: Resource): Record<string, unknown> },
): Promise<void> {
  if (!v.resource) return;
  await tx.put({ type: v.type, id: v.id, resource: v.resource, idx: engine.extractIndex(v.resource), expectVid: v.vid });
}
