import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';
import { MongoStore } from '../../src/store/mongo/mongo-store.js';
import { EAGER_HASH } from '../../src/store/open-store.js';
import type { ResourceStore } from '../../src/store/port.js';

export const TEST_INDEXES = [{ type: 1 as const, 'idx.ref.p': 1 as const, 'idx.ref.r': 1 as const }];

export interface StoreFactory {
  name: string;
  open(indexes?: ReadonlyArray<Record<string, 1 | -1>>): Promise<{ store: ResourceStore; cleanup(): Promise<void> }>;
}

/** The embedded store with its hash indexes built on first use, or kept from the start for `eagerHash` (as the server runs it). */
const embedded = (name: string, eagerHash?: readonly string[]): StoreFactory => ({
  name,
  async open(indexes = TEST_INDEXES) {
    const dir = mkdtempSync(join(tmpdir(), 'ccm-store-'));
    const store = new EmbeddedStore({ dataDir: dir, indexes, eagerHash });
    await store.init();
    return { store, cleanup: async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); } };
  },
});

/**
 * The adapters the conformance suite runs on: always embedded, in both hash-index modes (the
 * first, lazy, is what tests that take one store use), MongoDB when MONGODB_URI is set.
 */
export function storeFactories(): StoreFactory[] {
  const list: StoreFactory[] = [embedded('embedded'), embedded('embedded, eager hash indexes', EAGER_HASH)];
  const uri = process.env.MONGODB_URI;
  if (uri) {
    list.push({
      name: 'mongodb',
      async open(indexes = TEST_INDEXES) {
        const dbName = `ccm_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
        const store = new MongoStore({ uri, dbName, indexes });
        await store.init();
        return {
          store,
          cleanup: async () => {
            const { MongoClient } = await import('mongodb');
            const c = new MongoClient(uri);
            await c.connect();
            await c.db(dbName).dropDatabase();
            await c.close();
            await store.close();
          },
        };
      },
    });
  } else {
    console.log('# MONGODB_URI is not set: the store conformance suite runs on the embedded adapter only');
  }
  return list;
}
