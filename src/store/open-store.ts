import type { Config } from '../config.js';
import { EmbeddedStore } from './embedded/embedded-store.js';
import { MongoStore } from './mongo/mongo-store.js';
import type { ResourceStore } from './port.js';

/**
 * Index arrays of the search document that FHIR search asks by equality on nearly every query
 * (token codes, references: patient=, code=, status=, subject=): the embedded store keeps their
 * hash indexes from open and on every write, as MongoDB does, so no query pays for building them
 * over the whole store. The other arrays are hashed on first use.
 */
export const EAGER_HASH = ['idx.tok', 'idx.ref'];

/** MongoDB when MONGODB_URI is set, else the embedded store in DATA_DIR. */
export async function openStore(config: Config, indexes: ReadonlyArray<Record<string, 1 | -1>>): Promise<ResourceStore> {
  const store: ResourceStore = config.mongodbUri
    ? new MongoStore({ uri: config.mongodbUri, dbName: config.mongodbDb, indexes })
    : new EmbeddedStore({ dataDir: config.dataDir, indexes, eagerHash: EAGER_HASH });
  await store.init();
  return store;
}
