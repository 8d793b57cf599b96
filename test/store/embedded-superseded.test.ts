import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from 'fhir/r4.js';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';
import type { IndexValues } from '../../src/store/port.js';

const SPECS: Array<Record<string, 1 | -1>> = [{ type: 1, 'idx.tok.p': 1, 'idx.tok.c': 1, 'idx.tok.s': 1 }];
const obs = (status: string) => ({ resourceType: 'Observation', status }) as unknown as Resource;
const idxOf = (status: string, patient: string): IndexValues =>
  ({
    ref: [{ p: 'subject', r: `Patient/${patient}` }],
    tok: [{ p: 'status', s: 'sys', c: status }],
    str: [{ p: 'note', v: 'x'.repeat(100) }],
  }) as unknown as IndexValues;
const byStatus = (c: string) => ({ 'idx.tok': { $elemMatch: { p: 'status', c } } });

t.test('a superseded version keeps only its references; the current one keeps everything, also after a reopen', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ccm-superseded-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const open = async () => {
    const s = new EmbeddedStore({ dataDir: dir, indexes: SPECS });
    await s.init();
    return s;
  };
  let s = await open();
  await s.transact((tx) => tx.put({ type: 'Observation', id: 'o1', resource: obs('preliminary'), idx: idxOf('preliminary', 'a'), expectVid: 0 }));
  await s.transact((tx) => tx.put({ type: 'Observation', id: 'o1', resource: obs('final'), idx: idxOf('final', 'b'), expectVid: 1 }));
  await s.transact((tx) => tx.put({ type: 'Observation', id: 'o1', expectVid: 2 }));
  await s.transact((tx) => tx.put({ type: 'Observation', id: 'o2', resource: obs('final'), idx: idxOf('final', 'c'), expectVid: 0 }));
  for (const pass of ['written', 'reopened']) {
    t.same((await s.readVersion('Observation', 'o1', 1))?.idx, { ref: [{ p: 'subject', r: 'Patient/a' }] }, `${pass}: v1 keeps its references only`);
    t.same((await s.readVersion('Observation', 'o1', 2))?.idx, { ref: [{ p: 'subject', r: 'Patient/b' }] }, `${pass}: v2, superseded by a deletion, likewise`);
    t.same((await s.read('Observation', 'o2'))?.idx, idxOf('final', 'c'), `${pass}: the current version keeps all its index values`);
    t.same((await s.find({ types: ['Observation'], filter: byStatus('final') })).map((v) => v.id), ['o2'], `${pass}: searches see current versions`);
    t.same((await s.find({ types: ['Observation'], filter: byStatus('preliminary') })).map((v) => v.id), [], `${pass}: and nothing superseded`);
    t.equal(((await s.readVersion('Observation', 'o1', 1))?.resource as { status?: string } | undefined)?.status, 'preliminary', `${pass}: the superseded content is kept`);
    await s.close();
    s = await open();
  }
  await s.close();
});
