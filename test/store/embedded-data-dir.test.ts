import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';
import { LOCK_NAME } from '../../src/store/embedded/dir-lock.js';
import { withDeadline } from '../../src/store/deadline.js';

// The embedded store's folder holds every version of every resource: one process at a time
// appends to it, and only its user reads it.
/** A fresh folder, removed after the test. */
const folder = (t: { teardown(fn: () => void): void }, prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

/** An open store on `dir`. */
const openStore = async (dir: string): Promise<EmbeddedStore> => {
  const s = new EmbeddedStore({ dataDir: dir });
  await s.init();
  return s;
};

const patient = (id: string) => ({ type: 'Patient', id, resource: { resourceType: 'Patient', id, name: [{ family: 'Zqxjunique' }] }, idx: {} });

t.test('one process at a time: a second store on an open folder is refused, a closed or crashed one is not', async (t) => {
  const dir = folder(t, 'ccm-lock-');
  const first = await openStore(dir);
  await first.transact((tx) => tx.put(patient('a')));
  const second = new EmbeddedStore({ dataDir: dir });
  await t.rejects(second.init(), /in use by another process/, 'refused while the first is open');
  await first.transact((tx) => tx.put(patient('b')));
  await first.close();
  t.notOk(existsSync(join(dir, LOCK_NAME)), 'closing gives the claim up');
  const third = await openStore(dir);
  t.ok(await third.read('Patient', 'b'), 'opened once the first has closed');
  await third.close();

  // A process that dies holding the claim (kill -9) leaves the socket file: nobody answers on it.
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(join(dir, LOCK_NAME))}, () => console.log('up')); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const held = new EmbeddedStore({ dataDir: dir });
  await t.rejects(held.init(), /in use by another process/, 'another live process holds it');
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  t.ok(existsSync(join(dir, LOCK_NAME)), 'the dead process left its socket');
  const after = await openStore(dir);
  t.ok(await after.read('Patient', 'a'), 'a stale claim is taken over');
  await after.close();
});

t.test('the folder and the commit log are readable by their owner only', async (t) => {
  const dir = join(folder(t, 'ccm-mode-'), 'data');
  const s = await openStore(dir);
  await s.transact((tx) => tx.put(patient('a')));
  await s.close();
  t.equal(statSync(dir).mode & 0o777, 0o700, 'DATA_DIR created 0700');
  t.equal(statSync(join(dir, 'commits.log')).mode & 0o077, 0, 'commits.log has no group or other access');
});

t.test('a corrupt commit log is reported by byte offset, without quoting its content', async (t) => {
  const dir = folder(t, 'ccm-corrupt-');
  const s = await openStore(dir);
  await s.transact((tx) => tx.put(patient('a')));
  await s.close();
  const log = join(dir, 'commits.log');
  const text = readFileSync(log, 'utf8');
  writeFileSync(log, text.replace('Zqxjunique', 'Zqxjun#ique"'));
  const again = new EmbeddedStore({ dataDir: dir });
  const err = await again.init().then(
    () => undefined,
    (e: Error) => e,
  );
  t.match(err?.message, /corrupt at byte 0: the line is not valid JSON/);
  t.notMatch(err?.message, /Zqxjun/, 'no stored text in the message');
});

t.test('a scan looks at the request deadline as it goes (deadline.ts)', async (t) => {
  const dir = folder(t, 'ccm-deadline-');
  const s = await openStore(dir);
  t.teardown(() => s.close());
  await s.transact(async (tx) => {
    for (let i = 0; i < 600; i++) await tx.put({ type: 'Basic', id: `b${i}`, resource: { resourceType: 'Basic', id: `b${i}` } as never, idx: { str: [{ p: 'code', v: `n${i}` }] } });
  });
  // A different filter each time: the store keeps its last answer.
  let n = 0;
  const scan = () => s.find({ types: ['Basic'], filter: { 'idx.str': { $elemMatch: { p: 'code', v: { $regex: `^n|^${'x'.repeat(++n)}` } } } } });
  t.equal((await withDeadline(60_000, scan)).length, 600, 'within its deadline a scan answers');
  // The clock jumps past the deadline once the scan has begun (after the check on entry).
  const realNow = Date.now;
  let calls = 0;
  Date.now = () => realNow() + (++calls > 2 ? 120_000 : 0);
  try {
    const err = await withDeadline(60_000, scan).then(
      () => undefined,
      (e: { status?: number }) => e,
    );
    t.equal(err?.status, 503, 'past it, the scan stops with a 503');
  } finally {
    Date.now = realNow;
  }
  t.ok(calls >= 3, 'the deadline was looked at inside the scan');
  // A write's deadline cuts only inside a transaction, before its commit (limits.test.ts): a scan outside one runs on.
  calls = 0;
  Date.now = () => realNow() + (++calls > 2 ? 120_000 : 0);
  try {
    t.equal((await withDeadline(60_000, scan, true)).length, 600, "past a write's deadline, outside a transaction, nothing is cut");
  } finally {
    Date.now = realNow;
  }
  t.equal((await scan()).length, 600, 'without a deadline (no REQUEST_TIMEOUT_MS) nothing is cut');
});

t.test('how a version was made (PUT on create, PATCH) survives a restart', async (t) => {
  const dir = folder(t, 'ccm-method-');
  const s = await openStore(dir);
  await s.transact((tx) => tx.put({ ...patient('a'), expectVid: 0, made: 'PUT' }));
  await s.transact((tx) => tx.put({ ...patient('a'), made: 'PATCH' }));
  await s.transact((tx) => tx.put(patient('a')));
  await s.close();
  const again = await openStore(dir);
  t.teardown(() => again.close());
  const versions = await Promise.all([1, 2, 3].map((v) => again.readVersion('Patient', 'a', v)));
  t.same(versions.map((v) => v?.made), ['PUT', 'PATCH', undefined]);
});
