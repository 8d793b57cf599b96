/** Shared pieces of the benchmark scripts: timed measurement loops, child servers, HTTP calls. */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from 'fhir/r4.js';
import { Pool } from 'undici';

export const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

export { SERVER_NODE_ARGS } from './server-node-args.js';

export interface Measure {
  name: string;
  concurrency: number;
  ops: number;
  perSec: number;
  p50: number;
  p99: number;
  unit: string;
  /** CPU the server process spent per operation (µs, all its threads), when measured with measureServer. */
  cpuUs?: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Runs op from `concurrency` workers for SECONDS (or until ops run out); op returns units done. */
export async function measure(name: string, concurrency: number, op: (i: number) => Promise<number>, unit = 'req', limit = Infinity): Promise<Measure> {
  const latencies: number[] = [];
  let units = 0;
  let next = 0;
  const end = Date.now() + SECONDS * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end && next < limit) {
        const i = next++;
        const t0 = performance.now();
        const done = await op(i); // not `units += await ...`: that reads units before the await
        units += done;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const secs = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { name, concurrency, ops: latencies.length, perSec: units / secs, p50: percentile(latencies, 50), p99: percentile(latencies, 99), unit };
}

/**
 * A child process: a server on `env.PORT` (ready when /readyz answers, within `readyWithinMs`:
 * replaying a large data dir takes longer than the default), else one that sends its port.
 * `secs` is how long it took to be ready.
 */
export async function startChild(
  script: string,
  env: Record<string, string>,
  execArgv: string[] = [],
  readyWithinMs = 30_000,
): Promise<{ proc: ChildProcess; port: number; secs: number }> {
  const started = performance.now();
  const proc = fork(script, [], { env: { ...process.env, ...env }, execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const secs = () => (performance.now() - started) / 1000;
  if (env.PORT) {
    const port = Number(env.PORT);
    while (performance.now() - started < readyWithinMs) {
      if (proc.exitCode !== null) throw new Error(`${script} exited with ${proc.exitCode} before it was ready`);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
      if (ready) return { proc, port, secs: secs() };
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${script} did not start`);
  }
  const port = await new Promise<number>((resolve) => proc.on('message', (m: { port: number }) => resolve(m.port)));
  return { proc, port, secs: secs() };
}

/** Stops a child with SIGTERM and waits for it to exit (at once if it already has). */
export async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.on('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

export async function call(pool: Pool, method: string, path: string, body?: string, contentType = 'application/fhir+json'): Promise<{ status: number; text: string }> {
  const r = await pool.request({ method: method as 'GET', path, body, headers: body ? { 'content-type': contentType } : {} });
  const text = await r.body.text();
  return { status: r.statusCode, text };
}

export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}


/** CPU seconds (user + system, all threads) a process has used so far (Linux /proc); NaN elsewhere. */
export function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ ticks
  } catch {
    return NaN;
  }
}

/**
 * measure(), plus the server process's CPU per operation: on a shared, noisy machine a request's
 * CPU cost varies less than the rate, which also depends on what else runs.
 */
export async function measureServer(pid: number | undefined, ...args: Parameters<typeof measure>): Promise<Measure> {
  const before = cpuSeconds(pid);
  const m = await measure(...args);
  m.cpuUs = ((cpuSeconds(pid) - before) / m.ops) * 1e6;
  return m;
}

/** Resident set size of a process in MB (Linux /proc), or its peak with 'VmHWM'; NaN elsewhere. */
export function rssMb(pid: number | undefined, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024;
  } catch {
    return NaN;
  }
}

/** The Synthea resources under a test-data folder, read one bundle at a time (nothing is kept unless the caller keeps it). */
export function* syntheaResources(data: string): Generator<Resource> {
  for (const set of ['synthea', 'synthea-2']) {
    const dir = join(data, set, 'bundles');
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
      const bundle = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { entry: { resource: Resource }[] };
      for (const e of bundle.entry) yield e.resource;
    }
  }
}
