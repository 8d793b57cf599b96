import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fhir } from '../helpers/server.js';
import { startChild } from '../helpers/child-server.js';
import { requires } from '../helpers/capabilities.js';

t.test('SIGKILL in the middle of a stream of creates loses none that got a 201', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ccm-kill-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await startChild({ DATA_DIR: dataDir });
  const acknowledged: string[] = [];
  let stop = false;
  const worker = async (w: number) => {
    for (let i = 0; !stop && i < 100_000; i++) {
      try {
        const r = await fhir('POST', `${first.base}/Observation`, { resourceType: 'Observation', status: 'final', code: { text: `w${w}-${i}` } });
        if (r.status === 201) acknowledged.push(r.body.id);
      } catch {
        return; // connection cut by the kill
      }
    }
  };
  const workers = Array.from({ length: 8 }, (_, w) => worker(w));
  // Kill in the middle of the stream: once some creates were acknowledged (a loaded machine may
  // take seconds for the first ones), with requests still in flight.
  const until = Date.now() + 60_000;
  while (acknowledged.length < 20 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 100));
  first.proc.kill('SIGKILL');
  stop = true;
  await Promise.all(workers);
  await first.exited;
  t.ok(acknowledged.length > 0, `${acknowledged.length} creates acknowledged before the kill`);

  const second = await startChild({ DATA_DIR: dataDir });
  t.teardown(async () => {
    second.proc.kill('SIGTERM');
    await second.exited;
  });
  let missing = 0;
  for (const id of acknowledged) if ((await fhir('GET', `${second.base}/Observation/${id}`)).status !== 200) missing++;
  t.equal(missing, 0, 'every acknowledged create survived');
});

t.test('SIGTERM finishes in-flight requests, closes the store and exits 0', await requires('transactions', 'the in-flight request is a transaction bundle of 3000 resources'), async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ccm-term-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const srv = await startChild({ DATA_DIR: dataDir });
  const entry = Array.from({ length: 3000 }, (_, i) => ({
    fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    resource: { resourceType: 'Observation', status: 'final', code: { text: `bulk ${i}` } },
    request: { method: 'POST', url: 'Observation' },
  }));
  const inflight = fhir('POST', srv.base, { resourceType: 'Bundle', type: 'transaction', entry });
  await new Promise((r) => setTimeout(r, 50));
  srv.proc.kill('SIGTERM');
  const res = await inflight;
  t.equal(res.status, 200, 'the in-flight transaction completed');
  t.equal(await srv.exited, 0, 'exit code 0');
  const again = await startChild({ DATA_DIR: dataDir });
  t.teardown(async () => {
    again.proc.kill('SIGTERM');
    await again.exited;
  });
  const hist = await fhir('GET', `${again.base}/Observation/_history?_count=1`);
  t.equal(hist.body.total, 3000, 'all of it was stored');
});
