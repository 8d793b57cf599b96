/**
 * npm run bench: throughput and latency of the server on a fresh embedded store, each shown as
 * a ratio to a bare Fastify route measured in the same run on the same machine (the ceiling).
 * Machines here are shared and noisy: compare ratios, not absolute numbers.
 *
 *   FHIR_TEST_DATA   folder of the shared data (default ../shared/data) for Synthea bundles
 *   BENCH_SECONDS    seconds per measurement (default 5)
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { projectRoot } from '../src/project-root.js';
import { call, freePort, measure, SECONDS, SERVER_NODE_ARGS, startChild, stopChild, type Measure } from './bench-kit.js';
import { loadPatients, measureSearches } from './search-bench.js';
import { ccmBench } from './bench-ccm.js';

const root = projectRoot();

const patient = JSON.stringify({
  resourceType: 'Patient',
  identifier: [{ system: 'http://hospital.example/mrn', value: '12345' }],
  name: [{ family: 'Benchmark', given: ['Patricia', 'Q'] }],
  gender: 'female',
  birthDate: '1948-03-12',
  address: [{ line: ['1 Main St'], city: 'Springfield', state: 'MA', postalCode: '01101' }],
});

async function main() {
  const results: Measure[] = [];
  const ceiling = await startChild(join(root, 'dist/scripts/bench-ceiling.js'), {}, [...SERVER_NODE_ARGS]);
  const ceilPool = new Pool(`http://127.0.0.1:${ceiling.port}`, { connections: 32, pipelining: 1 });
  const ceilingOf: Record<number, Measure> = {};
  for (const c of [1, 16]) {
    ceilingOf[c] = await measure('ceiling: bare Fastify JSON echo', c, async () => ((await call(ceilPool, 'POST', '/echo', patient, 'application/json')).status === 200 ? 1 : 0));
    results.push(ceilingOf[c]);
  }
  await ceilPool.close();
  await stopChild(ceiling.proc);

  const dataDir = mkdtempSync(join(tmpdir(), 'ccm-bench-'));
  const port = await freePort();
  const server = await startChild(join(root, 'dist/src/server.js'), { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' }, [...SERVER_NODE_ARGS]);
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 32, pipelining: 1 });
  const ids: string[] = [];
  for (const c of [1, 16]) {
    results.push(
      await measure('create Patient (validated, indexed, fsync)', c, async () => {
        const r = await call(pool, 'POST', '/fhir/Patient', patient);
        if (r.status !== 201) throw new Error(`create failed: ${r.status} ${r.text.slice(0, 200)}`);
        ids.push(JSON.parse(r.text).id);
        return 1;
      }),
    );
  }
  for (const c of [1, 16]) {
    results.push(
      await measure('read Patient by id', c, async (i) => {
        const r = await call(pool, 'GET', `/fhir/Patient/${ids[i % ids.length]}`);
        if (r.status !== 200) throw new Error(`read failed: ${r.status}`);
        return 1;
      }),
    );
  }
  const data = process.env.FHIR_TEST_DATA ?? join(root, '..', 'shared', 'data');
  if (existsSync(join(data, 'synthea'))) {
    const bundles = ['synthea', 'synthea-2'].flatMap((set) => {
      const dir = join(data, set, 'bundles');
      return readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => readFileSync(join(dir, f), 'utf8'));
    });
    const sizes = bundles.map((b) => (JSON.parse(b).entry as unknown[]).length);
    // Warm-up: the validator compiles each resource type's schema on first use; measure the
    // steady state (as a long-running server sees it), not those first compilations.
    for (const b of bundles.slice(0, 3)) await call(pool, 'POST', '/fhir', b);
    for (const c of [1, 16]) {
      results.push(
        await measure('Synthea transaction bundles', c, async (i) => {
          const r = await call(pool, 'POST', '/fhir', bundles[i % bundles.length]);
          if (r.status !== 200) throw new Error(`transaction failed: ${r.status} ${r.text.slice(0, 300)}`);
          return sizes[i % bundles.length];
        }, 'resource', bundles.length),
      );
    }
  } else {
    console.log(`# Synthea bundles not found under ${data}: transaction benchmark skipped`);
  }
  // Search on a dataset like the one Medplum was measured on: 5,000 patients with 10 Conditions
  // each (6 active, 3 resolved, 1 inactive); `npm run bench:search` adds the scale set.
  const patients = Number(process.env.BENCH_PATIENTS ?? 5000);
  const loadStart = performance.now();
  const patientIds = await loadPatients(pool, patients, 10, 0, 'medplum');
  const loadSecs = (performance.now() - loadStart) / 1000;
  console.log(`# search dataset: ${patients} patients, ${patients * 10} conditions loaded in ${loadSecs.toFixed(1)} s (${((patients * 11) / loadSecs).toFixed(0)} resources/s)`);
  results.push(...(await measureSearches(pool, 'search dataset', patientIds, 16, server.proc.pid)));
  await ccmBench(pool, server.proc.pid);
  await pool.close();
  await stopChild(server.proc);
  rmSync(dataDir, { recursive: true, force: true });

  console.log(`\nccm-fhir-server benchmark (${SECONDS}s per row, Node ${process.version}); ratio = rate / bare-Fastify rate at the same concurrency\n`);
  console.log('measure'.padEnd(46) + 'conc'.padStart(5) + 'rate/s'.padStart(12) + 'p50 ms'.padStart(9) + 'p99 ms'.padStart(9) + 'ratio'.padStart(8));
  for (const m of results) {
    const ratio = m.perSec / ceilingOf[m.concurrency].perSec;
    console.log(
      `${m.name} (${m.unit}/s)`.padEnd(46) + String(m.concurrency).padStart(5) + m.perSec.toFixed(0).padStart(12) + m.p50.toFixed(2).padStart(9) + m.p99.toFixed(2).padStart(9) + `${(ratio * 100).toFixed(1)}%`.padStart(8),
    );
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
