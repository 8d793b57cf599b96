import type { StoreCapabilities } from '../../src/store/port.js';

/** Capabilities that some backends lack (see README, Storage). */
export type Capability = 'transactions';

let cached: Promise<StoreCapabilities> | undefined;

/**
 * Capabilities of the store the tests run on: the embedded store (everything) without
 * MONGODB_URI, else those the MongoDB adapter detects on that server (probed once per process
 * in a throw-away database).
 */
export function storeCapabilities(): Promise<StoreCapabilities> {
  return (cached ??= probe());
}

async function probe(): Promise<StoreCapabilities> {
  const uri = process.env.MONGODB_URI;
  if (!uri) return { transactions: true, elemMatch: true, backend: 'embedded' };
  const { MongoStore } = await import('../../src/store/mongo/mongo-store.js');
  const { MongoClient } = await import('mongodb');
  const dbName = `ccm_caps_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const store = new MongoStore({ uri, dbName, indexes: [] });
  try {
    await store.init();
    return store.capabilities;
  } finally {
    await store.close();
    const c = new MongoClient(uri);
    await c.connect();
    await c.db(dbName).dropDatabase().catch(() => undefined);
    await c.close();
  }
}

/** Test options that skip a test whose store lacks `cap`, saying which capability and why. */
export function requiresOf(caps: StoreCapabilities, cap: Capability, why: string): { skip?: string } {
  return caps[cap] ? {} : { skip: `needs ${cap} (${why}); ${caps.backend} lacks it` };
}

/** The same, for the store MONGODB_URI points to (or the embedded one): `t.test(name, await requires('transactions', why), fn)`. */
export async function requires(cap: Capability, why: string): Promise<{ skip?: string }> {
  return requiresOf(await storeCapabilities(), cap, why);
}
