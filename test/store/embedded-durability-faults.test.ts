import t from 'tap';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from 'fhir/r4.js';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';

// Faults are injected into FileHandle itself (this file runs in its own process): a slow disk, a
// failing fsync, a full disk that takes part of a write.
const probe = join(mkdtempSync(join(tmpdir(), 'ccm-fh-')), 'probe');
writeFileSync(probe, '');
const handle = await open(probe, 'r');
const proto = Object.getPrototypeOf(handle) as FileHandle;
await handle.close();
const original = { datasync: proto.datasync, write: proto.write };
const restore = () => Object.assign(proto, original);

const patient = (i: number) => ({ resourceType: 'Patient', active: i % 2 === 0 }) as unknown as Resource;
const put = (s: EmbeddedStore, id: string) => s.transact((tx) => tx.put({ type: 'Patient', id, resource: patient(1), idx: {} }));

async function opened(dir: string): Promise<EmbeddedStore> {
  const s = new EmbeddedStore({ dataDir: dir });
  await s.init();
  return s;
}

/** Whether a promise has settled by now (after the pending I/O callbacks ran). */
async function settledYet(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  await new Promise((r) => setTimeout(r, 30));
  return done;
}

t.test('nothing is answered from a commit before it is durable', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ccm-slow-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const s = await opened(dir);
  await put(s, 'a');
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  proto.datasync = async function (this: FileHandle) {
    await gate;
    return original.datasync.call(this);
  };
  t.teardown(restore);
  const write = put(s, 'k1');
  await new Promise((r) => setImmediate(r));
  // The commit is visible in memory now; what would answer from it waits for the disk.
  const answers = {
    read: s.read('Patient', 'k1'),
    find: s.find({ types: ['Patient'], filter: {} }),
    count: s.count(['Patient'], {}),
    history: s.history({ type: 'Patient', limit: 10 }),
    // A transaction that writes nothing, as a conditional create that finds its match.
    match: s.transact(async (tx) => (await tx.read('Patient', 'k1'))?.id),
  };
  t.notOk(await settledYet(write), 'the write is not acknowledged before its fsync');
  for (const [what, p] of Object.entries(answers)) t.notOk(await settledYet(p), `${what} waits`);
  release();
  await write;
  t.equal((await answers.read)?.id, 'k1');
  t.equal((await answers.find).length, 2);
  t.equal(await answers.count, 2);
  t.equal((await answers.history).length, 2);
  t.equal(await answers.match, 'k1');
  restore();
  // With nothing in flight, reads answer at once.
  t.ok(await settledYet(s.read('Patient', 'a')));
  await s.close();
});

t.test('a failed fsync: the write is refused, nothing more is answered, and it is gone after a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ccm-eio-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let s = await opened(dir);
  await put(s, 'a');
  const sizeBefore = statSync(join(dir, 'commits.log')).size;
  proto.datasync = async function () {
    throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
  };
  t.teardown(restore);
  await t.rejects(put(s, 'b'), /EIO/, 'the write gets the error');
  restore();
  await t.rejects(s.read('Patient', 'b'), /EIO/, 'the refused write is not read');
  await t.rejects(s.read('Patient', 'a'), /EIO/, 'nor anything else: memory is no longer what is on disk');
  await t.rejects(s.find({ types: ['Patient'], filter: {} }), /EIO/);
  await t.rejects(put(s, 'c'), /EIO/, 'and no later write is taken');
  await t.rejects(s.ping(), /EIO/, 'readiness fails');
  t.equal(statSync(join(dir, 'commits.log')).size, sizeBefore, 'the log is cut back to what was durable');
  await s.close();
  s = await opened(dir);
  t.ok(await s.read('Patient', 'a'));
  t.equal(await s.read('Patient', 'b'), undefined, 'the refused write is not there after a restart');
  await put(s, 'c');
  t.equal((await s.read('Patient', 'c'))?.vid, 1);
  await s.close();
});

t.test('a full disk that takes part of a write: refused, and the store opens again with all it acknowledged', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ccm-full-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let s = await opened(dir);
  await put(s, 'a');
  let calls = 0;
  const write = original.write as unknown as (this: FileHandle, b: Buffer, offset?: number, length?: number) => Promise<unknown>;
  proto.write = async function (this: FileHandle, buffer: Buffer, offset?: number, length?: number) {
    // The first write takes half of what it is given (no error), the next one finds the disk full.
    if (calls++ === 0) return write.call(this, buffer, offset, Math.floor((length ?? buffer.length) / 2));
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  } as unknown as typeof proto.write;
  t.teardown(restore);
  await t.rejects(put(s, 'b'), /ENOSPC/, 'the write is refused, not acknowledged with half a line on disk');
  restore();
  t.equal(calls, 2, 'the rest of a short write was retried');
  await s.close();
  s = await opened(dir);
  t.ok(await s.read('Patient', 'a'));
  t.equal(await s.read('Patient', 'b'), undefined);
  // Writes after the space is back survive another restart (no half line joins them to the last one).
  await put(s, 'c');
  await put(s, 'd');
  await s.close();
  s = await opened(dir);
  t.same((await s.find({ types: ['Patient'], filter: {}, sort: [['id', 1]] })).map((v) => v.id), ['a', 'c', 'd']);
  await s.close();
});

t.test('replay: a torn tail is dropped; a complete line that does not read refuses to open', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ccm-replay-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let s = await opened(dir);
  await put(s, 'a');
  await put(s, 'b');
  await s.close();
  const log = join(dir, 'commits.log');
  const good = readFileSync(log, 'utf8');
  // A damaged last line that is complete was acknowledged: it is not dropped without a word.
  const lines = good.split('\n');
  writeFileSync(log, `${lines[0]}\n${lines[1].replace('"Patient"', '"Pati"nt"')}\n`);
  await t.rejects(opened(dir), /corrupt at byte \d+.*restore the file/);
  // An empty line, which no writer makes, is passed over.
  writeFileSync(log, good + '\n');
  s = await opened(dir);
  t.ok(await s.read('Patient', 'b'));
  await s.close();
  // Zeros after a crash (a file grown but not written): no newline, dropped.
  writeFileSync(log, good);
  appendFileSync(log, Buffer.alloc(4096));
  s = await opened(dir);
  t.ok(await s.read('Patient', 'b'));
  t.match(s.notes, [/an unterminated last line of 4096 bytes .* was cut off/], 'said, for the log');
  await put(s, 'c');
  await s.close();
  s = await opened(dir);
  t.ok(await s.read('Patient', 'c'));
  await s.close();
});
