/**
 * npm run bench:search: the search targets alone. Loads the 5,000 × 10 Conditions dataset,
 * measures, then (unless BENCH_SCALE=0) adds the scale set of 10,000 patients, 100,000
 * Conditions and 200,000 Encounters and measures again; prints the server's RSS after each.
 *
 *   BENCH_SECONDS      seconds per measurement (default 5)
 *   BENCH_PATIENTS     patients of the first dataset (default 5000)
 *   BENCH_SCALE=0      skip the scale set
 *   BENCH_SERVER_ARGS  extra node arguments for the server (after SERVER_NODE_ARGS), e.g. --cpu-prof
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { projectRoot } from '../src/project-root.js';
import { call, freePort, measureServer, rssMb, SECONDS, SERVER_NODE_ARGS, startChild, stopChild, type Measure } from './bench-kit.js';
import { loadPatients, measureSearches } from './search-bench.js';

const root = projectRoot();

async function main() {
  const ceiling = await startChild(join(root, 'dist/scripts/bench-ceiling.js'), {}, [...SERVER_NODE_ARGS]);
  const ceilPool = new Pool(`http://127.0.0.1:${ceiling.port}`, { connections: 32, pipelining: 1 });
  const ceil = await measureServer(ceiling.proc.pid, 'ceiling: bare Fastify JSON echo', 16, async () => ((await call(ceilPool, 'POST', '/echo', '{"resourceType":"Patient"}', 'application/json')).status === 200 ? 1 : 0));
  await ceilPool.close();
  await stopChild(ceiling.proc);

  const dataDir = mkdtempSync(join(tmpdir(), 'ccm-bench-search-'));
  const port = await freePort();
  const server = await startChild(join(root, 'dist/src/server.js'), { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' }, [...SERVER_NODE_ARGS, ...(process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean)]);
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 32, pipelining: 1 });
  const results: Measure[] = [ceil];

  const patients = Number(process.env.BENCH_PATIENTS ?? 5000);
  let t0 = performance.now();
  const ids = await loadPatients(pool, patients, 10, 0, 'medplum');
  console.log(`# dataset: ${patients} patients, ${patients * 10} Conditions in ${((performance.now() - t0) / 1000).toFixed(1)} s; server RSS ${rssMb(server.proc.pid).toFixed(0)} MB`);
  results.push(...(await measureSearches(pool, 'dataset', ids, 16, server.proc.pid)));
  if (process.env.BENCH_SCALE !== '0') {
    t0 = performance.now();
    await loadPatients(pool, 10_000, 10, 20, 'scale');
    console.log(`# scale set: 10,000 patients, 100,000 Conditions, 200,000 Encounters in ${((performance.now() - t0) / 1000).toFixed(1)} s; server RSS ${rssMb(server.proc.pid).toFixed(0)} MB`);
    results.push(...(await measureSearches(pool, 'with scale set', ids, 16, server.proc.pid)));
    console.log(`# server RSS after the searches: ${rssMb(server.proc.pid).toFixed(0)} MB`);
  }
  await pool.close();
  await stopChild(server.proc);
  rmSync(dataDir, { recursive: true, force: true });

  console.log(`\nsearch benchmark (${SECONDS}s per row, Node ${process.version}); ratio = rate / bare-Fastify rate at concurrency 16; cpu = server CPU per request\n`);
  console.log('measure'.padEnd(62) + 'conc'.padStart(5) + 'rate/s'.padStart(10) + 'p50 ms'.padStart(9) + 'p99 ms'.padStart(9) + 'ratio'.padStart(8) + 'cpu µs'.padStart(8));
  for (const m of results) {
    console.log(`${m.name}`.padEnd(62) + String(m.concurrency).padStart(5) + m.perSec.toFixed(0).padStart(10) + m.p50.toFixed(2).padStart(9) + m.p99.toFixed(2).padStart(9) + `${((m.perSec / ceil.perSec) * 100).toFixed(1)}%`.padStart(8) + (m.cpuUs ?? NaN).toFixed(0).padStart(8));
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
