import { buildApp } from '../src/app.js';
import { configFromEnv } from '../src/config.js';
import { reindexAll } from '../src/search/reindex.js';

/**
 * `npm run reindex`: re-extracts search index values of every stored resource with the
 * server's current search parameters (after adding IG packages or profiles). Uses the same
 * configuration (environment) as the server; optional arguments restrict it to some types.
 */
const config = configFromEnv();
const built = await buildApp(config, { logger: false });
const types = process.argv.slice(2);
const started = Date.now();
try {
  const result = await reindexAll(built.services.store, built.services.search, {
    types: types.length ? types : undefined,
    onProgress: (n) => process.stderr.write(`\rreindexed ${n}`),
  });
  process.stderr.write('\n');
  console.log(JSON.stringify({ ...result, seconds: (Date.now() - started) / 1000 }));
} finally {
  await built.close();
}
