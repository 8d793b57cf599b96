import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fhir, startServer } from '../helpers/server.js';

t.test('npm run load sends bundles, single resources and NDJSON, and reports failures', async (t) => {
  const srv = await startServer();
  const dir = mkdtempSync(join(tmpdir(), 'ccm-load-'));
  t.teardown(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });
  writeFileSync(join(dir, 'tx.json'), JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [
    { fullUrl: 'urn:uuid:1', resource: { resourceType: 'Patient', active: true }, request: { method: 'POST', url: 'Patient' } },
    { resource: { resourceType: 'Condition', subject: { reference: 'urn:uuid:1' }, code: { text: 'x' } }, request: { method: 'POST', url: 'Condition' } },
  ] }));
  writeFileSync(join(dir, 'one.json'), JSON.stringify({ resourceType: 'Practitioner', id: 'dr-load', active: true }));
  writeFileSync(join(dir, 'many.ndjson'), [
    JSON.stringify({ resourceType: 'Observation', status: 'final', code: { text: 'a' } }),
    JSON.stringify({ resourceType: 'Observation', id: 'obs-load', status: 'final', code: { text: 'b' } }),
    JSON.stringify({ resourceType: 'Observation', status: 'not-a-status', code: { text: 'c' } }),
  ].join('\n') + '\n');
  execFileSync(process.execPath, [join(process.cwd(), 'scripts/build-if-needed.mjs')], { stdio: 'inherit' });
  // Async: the server runs in this process and must keep answering while the loader runs.
  const run = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [join(process.cwd(), 'dist/scripts/load.js'), '--base', srv.base, '--batch', '2', dir]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
  t.equal(run.status, 1, 'exit 1: one resource failed');
  t.match(run.stdout, /loaded 5 of 6 resources from 3 files/);
  t.match(run.stdout, /many\.ndjson lines 3-3 entry 0: 4\d\d/);
  t.match(run.stderr, /\d+\/s +ETA/, 'progress shows the rate and an ETA');
  t.equal((await fhir('GET', `${srv.base}/Practitioner/dr-load`)).status, 200);
  t.equal((await fhir('GET', `${srv.base}/Observation/obs-load`)).status, 200);
  t.equal((await fhir('GET', `${srv.base}/Condition`)).body.total, 1);
});
