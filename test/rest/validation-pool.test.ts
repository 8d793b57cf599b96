import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fhir } from '../helpers/server.js';
import { startChild } from '../helpers/child-server.js';
import { requires } from '../helpers/capabilities.js';

t.test('with validator threads, a large transaction is refused at the right entry and accepted when valid', await requires('transactions', 'the bundles write 200 resources atomically'), async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ccm-pool-'));
  const srv = await startChild({ DATA_DIR: dataDir, VALIDATION_WORKERS: '1' });
  t.teardown(async () => {
    srv.proc.kill('SIGTERM');
    await srv.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });
  const entry = (i: number, status = 'final') => ({
    fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    resource: { resourceType: 'Observation', status, code: { text: `o${i}` } },
    request: { method: 'POST', url: 'Observation' },
  });
  // 200 entries: the last ones are validated by the worker thread.
  const bad = Array.from({ length: 200 }, (_, i) => entry(i, i === 180 ? 'not-a-status' : 'final'));
  const refused = await fhir('POST', srv.base, { resourceType: 'Bundle', type: 'transaction', entry: bad });
  t.equal(refused.status, 422);
  t.ok(refused.body.issue.some((i: any) => (i.expression ?? []).some((e: string) => e.startsWith('Bundle.entry[180].resource.status'))), 'the issue names entry 180');
  const early = Array.from({ length: 200 }, (_, i) => entry(i, i === 3 ? 'not-a-status' : 'final'));
  const refused2 = await fhir('POST', srv.base, { resourceType: 'Bundle', type: 'transaction', entry: early });
  t.ok(refused2.body.issue.some((i: any) => (i.expression ?? []).some((e: string) => e.startsWith('Bundle.entry[3].resource.status'))), 'and entry 3 on this thread');
  const ok = await fhir('POST', srv.base, { resourceType: 'Bundle', type: 'transaction', entry: Array.from({ length: 200 }, (_, i) => entry(i)) });
  t.equal(ok.status, 200);
  t.equal((await fhir('GET', `${srv.base}/Observation?_summary=count`)).body.total, 200, 'only the valid bundle was stored');

  // Numbers as written reach the threads too: 1.0 in an integer element is no integer there either.
  const withValue = (i: number, value: string) =>
    JSON.stringify({ ...entry(i), resource: { ...entry(i).resource, valueInteger: '@' } }).replace('"@"', value);
  const bundleOf = (entries: string[]) => `{"resourceType":"Bundle","type":"transaction","entry":[${entries.join(',')}]}`;
  const integers = Array.from({ length: 200 }, (_, i) => withValue(1000 + i, i === 190 ? '1.0' : '1'));
  const byThread = await fhir('POST', srv.base, bundleOf(integers));
  t.equal(byThread.status, 422, 'an integer written 1.0, validated on a thread');
  t.ok(byThread.body.issue.some((i: any) => (i.expression ?? []).some((e: string) => e.startsWith('Bundle.entry[190].resource.value'))), 'names entry 190');
});
