/**
 * Resident memory of the validator as the server holds it: R4 + `profiles/` + US Core 6.1.0 and 7.0.0,
 * then every Synthea resource validated once (one bundle at a time, nothing kept), then a full GC.
 * Prints RSS and V8 heap figures after start-up and after the corpus, the heap spaces, and, with
 * `--snapshot FILE`, writes a heap snapshot (open it in Chrome DevTools, or read it with
 * `--summary FILE`: retained size per constructor/string class, largest first).
 *
 *   npm run -s build && node --expose-gc dist/scripts/validation-memory.js [--runs 3] [--snapshot f]
 *   FHIR_TEST_DATA   folder of the shared data (default ../shared/data)
 *
 * One validator per process: a fresh process per run (`--runs N` starts N children), since memory
 * left by one run would count in the next. `--server` measures the real server instead (the built
 * `dist/src/server.js` with IG_PACKAGES, an empty embedded store, audit off): every Synthea resource
 * is POSTed to `[type]/$validate` (validated, nothing stored), and its RSS and peak RSS are read from /proc.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { call, freePort, SERVER_NODE_ARGS, startChild, stopChild, syntheaResources } from './bench-kit.js';
import { fileURLToPath } from 'node:url';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { projectRoot } from '../src/project-root.js';
import { createValidator } from '../src/validation/validator.js';

const data = process.env.FHIR_TEST_DATA ?? join(projectRoot(), '..', 'shared', 'data');
const MB = (n: number) => Math.round(n / 1e6);
const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};

interface Sample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}
const sample = (): Sample => {
  const m = process.memoryUsage();
  return { rss: MB(m.rss), heapUsed: MB(m.heapUsed), heapTotal: MB(m.heapTotal), external: MB(m.external) };
};

/** Current and peak resident memory of a process, from /proc (Linux). */
function procRss(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: Math.round(kb('VmRSS') / 1000), peak: Math.round(kb('VmHWM') / 1000) };
}

async function measureOnce(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  const packages = [join(data, 'us-core', 'us_core_610.tgz'), join(data, 'us-core', 'us_core_700.tgz')];
  const validator = await createValidator({ profileDirs: [join(projectRoot(), 'profiles')], packagePaths: packages });
  gc();
  const started = sample();
  let count = 0;
  let errors = 0;
  for (const r of syntheaResources(data)) {
    count++;
    errors += validator.validate(r).filter((i) => i.severity === 'error').length;
  }
  const beforeGc = sample();
  gc();
  const afterGc = sample();
  // V8 returns freed pages to the system in the background: what an idle server holds a moment later.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const idle = sample();
  const peak = procRss(process.pid).peak;
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, MB(s.space_used_size)]));
  const snapshot = arg('--snapshot');
  if (snapshot) writeHeapSnapshot(snapshot);
  // Keeps the validator reachable until here, so the figures include it.
  console.log(JSON.stringify({ resources: count, errors, started, beforeGc, afterGc, idle, peak, spaces, alive: validator.knowsProfile('x') === false }));
}

/** Retained-size summary of a heap snapshot by node class (self sizes; strings grouped). */
function summarise(file: string): void {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const bySize = new Map<string, { size: number; count: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]];
    const key = type === 'object' || type === 'closure' ? `${type}:${snap.strings[snap.nodes[i + nameAt]]}` : type;
    const e = bySize.get(key) ?? { size: 0, count: 0 };
    e.size += snap.nodes[i + sizeAt];
    e.count++;
    bySize.set(key, e);
  }
  for (const [k, v] of [...bySize].sort((a, b) => b[1].size - a[1].size).slice(0, 25)) console.log(`${String(MB(v.size)).padStart(5)} MB ${String(v.count).padStart(9)}  ${k}`);
}

async function measureServerRss(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ccm-mem-'));
  const port = await freePort();
  const env = {
    PORT: String(port),
    DATA_DIR: dir,
    LOG_LEVEL: 'silent',
    AUDIT: 'false',
    IG_PACKAGES: [join(data, 'us-core', 'us_core_610.tgz'), join(data, 'us-core', 'us_core_700.tgz')].join(','),
  };
  const server = await startChild(join(projectRoot(), 'dist', 'src', 'server.js'), env, [...SERVER_NODE_ARGS]);
  const pid = server.proc.pid as number;
  const pool = new Pool(`http://127.0.0.1:${server.port}`, { connections: 2 });
  try {
    const started = procRss(pid);
    let n = 0;
    let refused = 0;
    const inFlight = new Set<Promise<void>>();
    for (const r of syntheaResources(data)) {
      const p = call(pool, 'POST', `/fhir/${r.resourceType}/$validate`, JSON.stringify(r)).then((res) => {
        n++;
        if (res.status !== 200 || res.text.includes('"severity":"error"')) refused++;
      });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      if (inFlight.size >= 4) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    const after = procRss(pid);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const idle = procRss(pid);
    console.log(
      `Server (dist/src/server.js, R4 + profiles/ + US Core 6.1.0 + 7.0.0): ${n} resources POSTed to $validate (${refused} with errors); ` +
        `rss after start-up ${started.rss} MB, after the corpus ${after.rss} MB, 3 s idle ${idle.rss} MB, peak ${idle.peak} MB`,
    );
  } finally {
    await pool.close();
    await stopChild(server.proc);
    rmSync(dir, { recursive: true, force: true });
  }
}

const summary = arg('--summary');
if (summary) summarise(summary);
else if (process.argv.includes('--server')) await measureServerRss();
else if (process.argv.includes('--child')) await measureOnce();
else {
  if (!existsSync(data)) {
    console.log(`no test data at ${data}: nothing to measure`);
    process.exit(0);
  }
  const runs = Number(arg('--runs') ?? 3);
  const extra = arg('--snapshot') ? ['--snapshot', arg('--snapshot') as string] : [];
  console.log('Validator memory, R4 + profiles/ + US Core 6.1.0 + 7.0.0, after every Synthea resource validated once (MB)');
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', ...extra], { encoding: 'utf8', maxBuffer: 1 << 24 });
    const m = JSON.parse(out.trim().split('\n').pop() as string) as {
      resources: number;
      errors: number;
      started: Sample;
      afterGc: Sample;
      beforeGc: Sample;
      idle: Sample;
      peak: number;
      spaces: Record<string, number>;
    };
    console.log(
      `  run ${i + 1}: ${m.resources} resources (${m.errors} errors); rss start-up ${m.started.rss}, after corpus ${m.beforeGc.rss}, after GC ${m.afterGc.rss}, peak ${m.peak}, ` +
        `3 s idle ${m.idle.rss}; heapUsed start-up ${m.started.heapUsed}, after GC ${m.afterGc.heapUsed} (heapTotal ${m.afterGc.heapTotal}, external ${m.afterGc.external})`,
    );
    console.log(`    heap spaces used: ${Object.entries(m.spaces).map(([k, v]) => `${k.replace('_space', '')} ${v}`).join(', ')}`);
  }
}
