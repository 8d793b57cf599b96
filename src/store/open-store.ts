import type { Config } from '../config.js';
import { EmbeddedStore } from './embedded/embedded-store.js';
import { MongoStore } from './mongo/mongo-store.js';
import type { ResourceStore } from './port.js';

/** MongoDB when MONGODB_URI is set, else the embedded store in DATA_DIR. */
export async function openStore(config: Config, indexes: ReadonlyArray<Record<string, 1 | -1>>): Promise<ResourceStore> {
  const store: ResourceStore = config.mongodbUri
    ? new MongoStore({ uri: config.mongodbUri, dbName: config.mongodbDb, indexes })
    : new EmbeddedStore({ dataDir: config.dataDir, indexes });
  await store.init();
  return store;
}
