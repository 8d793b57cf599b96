/**
 * npm run load -- [--base URL] [--concurrency N] [--batch N] <files or folders>
 *
 * Sends FHIR data to a running server: .json files holding a transaction or batch Bundle are
 * posted as they are (a single resource is PUT by id, or POSTed without one); .ndjson files are
 * sent in batch Bundles of --batch resources (PUT when a resource has an id). Shows resources/s
 * and an ETA on stderr; ends with a summary of failures (file, entry, status, first issue).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { request } from 'undici';

interface Options { base: string; concurrency: number; batch: number; paths: string[] }

function parseArgs(argv: string[]): Options {
  const o: Options = { base: process.env.FHIR_BASE ?? 'http://localhost:8080/fhir', concurrency: 4, batch: 500, paths: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--base') o.base = argv[++i];
    else if (a === '--concurrency') o.concurrency = Number(argv[++i]);
    else if (a === '--batch') o.batch = Number(argv[++i]);
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run load -- [--base URL] [--concurrency N] [--batch N] <files or folders>');
      process.exit(0);
    } else o.paths.push(a);
  }
  if (o.paths.length === 0) throw new Error('name at least one file or folder (see --help)');
  o.base = o.base.replace(/\/+$/, '');
  return o;
}

function listFiles(paths: string[]): string[] {
  const out: string[] = [];
  const visit = (p: string) => {
    if (statSync(p).isDirectory()) for (const e of readdirSync(p).sort()) visit(join(p, e));
    else if (['.json', '.ndjson'].includes(extname(p))) out.push(p);
  };
  paths.forEach(visit);
  return out;
}

interface Job { label: string; body: unknown; method: string; url: string; resources: number }

function* jobsOf(file: string, o: Options): Generator<Job> {
  const text = readFileSync(file, 'utf8');
  if (file.endsWith('.ndjson')) {
    const lines = text.split('\n').filter((l) => l.trim());
    for (let i = 0; i < lines.length; i += o.batch) {
      const entry = lines.slice(i, i + o.batch).map((l) => {
        const r = JSON.parse(l);
        return { resource: r, request: r.id ? { method: 'PUT', url: `${r.resourceType}/${r.id}` } : { method: 'POST', url: r.resourceType } };
      });
      yield { label: `${file} lines ${i + 1}-${i + entry.length}`, body: { resourceType: 'Bundle', type: 'batch', entry }, method: 'POST', url: o.base, resources: entry.length };
    }
    return;
  }
  const r = JSON.parse(text);
  if (r.resourceType === 'Bundle' && (r.type === 'transaction' || r.type === 'batch')) {
    yield { label: file, body: r, method: 'POST', url: o.base, resources: r.entry?.length ?? 0 };
  } else if (r.resourceType) {
    yield { label: file, body: r, method: r.id ? 'PUT' : 'POST', url: r.id ? `${o.base}/${r.resourceType}/${r.id}` : `${o.base}/${r.resourceType}`, resources: 1 };
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const files = listFiles(o.paths);
  const jobs = files.flatMap((f) => [...jobsOf(f, o)]);
  const total = jobs.reduce((n, j) => n + j.resources, 0);
  const failures: string[] = [];
  let done = 0;
  let ok = 0;
  const started = Date.now();
  const progress = () => {
    const secs = (Date.now() - started) / 1000;
    const rate = done / Math.max(secs, 0.001);
    const eta = rate > 0 ? (total - done) / rate : 0;
    const width = 30;
    const filled = Math.round((done / Math.max(total, 1)) * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} resources  ${rate.toFixed(0)}/s  ETA ${eta.toFixed(0)}s   `);
  };
  const timer = setInterval(progress, 250);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      try {
        const res = await request(job.url, { method: job.method as 'POST', headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal' }, body: JSON.stringify(job.body) });
        const text = await res.body.text();
        const body = text ? JSON.parse(text) : undefined;
        if (res.statusCode >= 300) failures.push(`${job.label}: HTTP ${res.statusCode} ${body?.issue?.[0]?.diagnostics ?? ''}`);
        else if (body?.type === 'batch-response') {
          body.entry.forEach((e: any, i: number) => {
            if (!/^2/.test(e.response.status)) failures.push(`${job.label} entry ${i}: ${e.response.status} ${e.response.outcome?.issue?.[0]?.diagnostics ?? ''}`);
            else ok++;
          });
        } else ok += job.resources;
      } catch (e) {
        failures.push(`${job.label}: ${(e as Error).message}`);
      }
      done += job.resources;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
  clearInterval(timer);
  progress();
  const secs = (Date.now() - started) / 1000;
  process.stderr.write('\n');
  console.log(`loaded ${ok} of ${total} resources from ${files.length} files in ${secs.toFixed(1)} s (${(ok / secs).toFixed(0)} resources/s); ${failures.length} failures`);
  for (const f of failures.slice(0, 50)) console.log('  ' + f);
  if (failures.length > 50) console.log(`  ... and ${failures.length - 50} more`);
  process.exit(failures.length ? 1 : 0);
}

main().catch((e: unknown) => {
  console.error((e as Error).message);
  process.exit(2);
});
