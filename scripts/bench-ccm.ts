/**
 * The CCM part of `npm run bench`, also runnable alone (`npm run build && node
 * dist/scripts/bench-ccm.js`, on a fresh embedded store): system-level $ccm-billing for one
 * month over N enrolled patients (the example patient of docs/ccm-integration.md with 20 time
 * entries each, BENCH_CCM_PATIENTS, default 1000), against the time the server takes just to
 * read those resources through search, with the server's memory before and during the month.
 * BENCH_CCM_NODE_ARGS passes Node options to the server alone (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`).
 * Run alone, the server also opens its inspector on loopback, through which the heap in use after
 * a full collection is read before and after each pass (what a pass keeps, as opposed to RSS,
 * which V8 grows and returns as it likes).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Pool, WebSocket } from 'undici';
import { projectRoot } from '../src/project-root.js';
import { call, freePort, rssMb, SERVER_NODE_ARGS, startChild, stopChild } from './bench-kit.js';

const root = projectRoot();

/** Heap in use (MB) after a full collection, through the inspector on `port`; NaN without one. */
async function heapAfterGc(port: number | undefined): Promise<number> {
  if (port === undefined) return NaN;
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  const pending = new Map<number, (result: any) => void>();
  ws.onmessage = (m) => {
    const msg = JSON.parse(String(m.data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
  };
  const send = (id: number, method: string, params: object = {}) =>
    new Promise<any>((resolve) => {
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send(1, 'HeapProfiler.collectGarbage');
  const r = await send(2, 'Runtime.evaluate', { expression: 'process.memoryUsage().heapUsed', returnByValue: true });
  ws.close();
  return Number(r?.result?.value) / 1048576;
}

/** Loads the dataset, then times reading it through search and billing the month over it. */
export async function ccmBench(pool: Pool, serverPid?: number, inspectPort?: number): Promise<void> {
  const n = Number(process.env.BENCH_CCM_PATIENTS ?? 1000);
  if (n <= 0) return;
  const example = readFileSync(join(root, 'profiles/examples/ccm-example-transaction.json'), 'utf8');
  const prefix = '7b1c5a8e-0d1f-4c57-9a2e-1f0c3b9d00';
  const loadStart = performance.now();
  let resources = 0;
  const loadOne = async (p: number) => {
    const tag = p.toString(16).padStart(10, '0');
    const bundle = JSON.parse(example.split(prefix).join(`${tag.slice(0, 8)}-0000-4000-8000-${tag}`)) as { entry: Array<{ fullUrl: string; resource: any; request: unknown }> };
    const entries = bundle.entry;
    const isTime = (e: { resource: any }) => JSON.stringify(e.resource.type ?? '').includes('care-management-time');
    const timeEntries = entries.filter(isTime);
    for (let k = 0; entries.filter(isTime).length < 20; k++) {
      const copy = JSON.parse(JSON.stringify(timeEntries[k % timeEntries.length]));
      copy.fullUrl = `urn:uuid:00000000-0000-4000-9000-${String(p * 100 + k).padStart(12, '0')}`;
      copy.resource.identifier = [{ system: 'https://bench.example/te', value: `${p}-${k}` }];
      copy.resource.length = { value: 2, unit: 'min', system: 'http://unitsofmeasure.org', code: 'min' };
      entries.push(copy);
    }
    resources += entries.length;
    const r = await call(pool, 'POST', '/fhir', JSON.stringify(bundle));
    if (r.status !== 200) throw new Error(`ccm load failed: ${r.status} ${r.text.slice(0, 300)}`);
  };
  // A few transactions in flight: the server validates one while the next arrives.
  let nextPatient = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (nextPatient < n) await loadOne(nextPatient++);
  }));
  console.log(`# ccm dataset: ${n} enrolled patients, ${resources} resources in ${((performance.now() - loadStart) / 1000).toFixed(1)} s`);
  const pageAll = async (first: string, nextOf: (b: any) => string | undefined, each?: (b: any) => void) => {
    let url: string | undefined = first;
    let pages = 0;
    while (url) {
      const r = await call(pool, 'GET', url);
      if (r.status !== 200) throw new Error(`${url}: ${r.status} ${r.text.slice(0, 200)}`);
      const body = JSON.parse(r.text);
      each?.(body);
      const next = nextOf(body);
      url = next ? next.slice(next.indexOf('/fhir')) : undefined;
      pages++;
    }
    return pages;
  };
  const t0 = performance.now();
  const perType: string[] = [];
  for (const type of ['Patient', 'Coverage', 'Condition', 'Consent', 'CarePlan', 'Encounter']) {
    const ts = performance.now();
    const pages = await pageAll(`/fhir/${type}?_count=1000`, (b) => b.link?.find((l: { relation: string }) => l.relation === 'next')?.url);
    perType.push(`${type} ${pages} pages ${((performance.now() - ts) / 1000).toFixed(1)} s`);
  }
  console.log(`# reading through search: ${perType.join(', ')}`);
  const readSecs = (performance.now() - t0) / 1000;
  // Twice: the first pass runs cold (its code and the month's candidate query not yet warm), the second warm.
  // Memory of the server is sampled while the month is billed: a pass holds a page, not the month.
  const pass = async () => {
    const before = rssMb(serverPid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(serverPid))), 50);
    let billed = 0;
    const start = performance.now();
    const pages = await pageAll(
      '/fhir/$ccm-billing?month=2025-03&_count=100',
      (b) => b.parameter?.find((x: { name: string }) => x.name === 'next')?.valueUri,
      (b) => (billed += (b.parameter ?? []).filter((x: { name: string }) => x.name === 'patient').length),
    );
    const secs = (performance.now() - start) / 1000;
    clearInterval(sampler);
    peak = Math.max(peak, rssMb(serverPid));
    if (billed !== n) throw new Error(`$ccm-billing answered ${billed} patients, expected ${n}`);
    return { secs, pages, before, peak };
  };
  for (const [i, name] of ['first pass', 'second pass'].entries()) {
    const heapBefore = await heapAfterGc(inspectPort);
    const r = await pass();
    const heapAfter = await heapAfterGc(inspectPort);
    console.log(`# $ccm-billing for 2025-03 over ${n} patients, ${name}: ${r.secs.toFixed(2)} s in ${r.pages} pages; reading the same resources through search: ${readSecs.toFixed(2)} s; ratio ${(r.secs / readSecs).toFixed(2)}x (target < 3x)`);
    if (serverPid !== undefined) {
      console.log(`#   server RSS ${r.before.toFixed(0)} MB before the pass, at most ${r.peak.toFixed(0)} MB during it (+${(r.peak - r.before).toFixed(0)} MB)${i === 1 ? `; peak over the run ${rssMb(serverPid, 'VmHWM').toFixed(0)} MB` : ''}`);
    }
    if (inspectPort !== undefined) console.log(`#   server heap in use after a full collection: ${heapBefore.toFixed(0)} MB before the pass, ${heapAfter.toFixed(0)} MB after it (${heapAfter >= heapBefore ? '+' : ''}${(heapAfter - heapBefore).toFixed(0)} MB kept)`);
  }
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ccm-bench-'));
  const port = await freePort();
  const inspectPort = await freePort();
  const nodeArgs = [...SERVER_NODE_ARGS, `--inspect=127.0.0.1:${inspectPort}`, ...(process.env.BENCH_CCM_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  const env = { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  const startServer = () => startChild(join(root, 'dist/src/server.js'), env, nodeArgs, Number.POSITIVE_INFINITY);
  let server = await startServer();
  const freshSecs = server.secs;
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 8, pipelining: 1 });
  try {
    await ccmBench(pool, server.proc.pid, inspectPort);
    // Start-up on the data just written: the commit log replayed, with the store's indexes.
    await stopChild(server.proc);
    server = await startServer();
    console.log(
      `# server ready in ${freshSecs.toFixed(1)} s on a fresh data dir, ${server.secs.toFixed(1)} s on the data dir above ` +
        `(RSS then ${rssMb(server.proc.pid).toFixed(0)} MB, heap in use after a full collection ${(await heapAfterGc(inspectPort)).toFixed(0)} MB)`,
    );
  } finally {
    await pool.close();
    await stopChild(server.proc);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
