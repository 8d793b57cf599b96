import t from 'tap';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from 'fhir/r4.js';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';
import { TEST_INDEXES } from '../helpers/stores.js';

const obs = (i: number) => ({ resourceType: 'Observation', status: 'final', valueInteger: i }) as unknown as Resource;

t.test('the commit log is replayed on open, indexes included', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ccm-dur-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let s = new EmbeddedStore({ dataDir: dir, indexes: TEST_INDEXES });
  await s.init();
  for (let i = 0; i < 5; i++) await s.transact((tx) => tx.put({ type: 'Observation', id: `o${i}`, resource: obs(i), idx: { ref: [{ p: 'subject', r: 'Patient/x' }] } }));
  await s.transact((tx) => tx.put({ type: 'Observation', id: 'o1', expectVid: 1 }));
  await s.transact((tx) => tx.put({ type: 'Observation', id: 'put1', resource: obs(9), idx: {}, made: 'PUT' }));
  await s.close();
  s = new EmbeddedStore({ dataDir: dir, indexes: TEST_INDEXES });
  await s.init();
  t.equal(await s.count(['Observation'], { 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/x' } } }), 4);
  t.equal((await s.read('Observation', 'o1'))!.deleted, true);
  t.equal(((await s.readVersion('Observation', 'o3', 1))!.resource as unknown as { valueInteger: number }).valueInteger, 3);
  t.equal(await s.countHistory({}), 7);
  t.equal((await s.read('Observation', 'put1'))!.made, 'PUT', 'a version 1 made by PUT is said so after a replay');
  t.equal((await s.read('Observation', 'o2'))!.made, undefined);
  await s.close();
});

t.test('a torn last line (crash mid-write) is dropped; a corrupt middle line refuses to open', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ccm-torn-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let s = new EmbeddedStore({ dataDir: dir });
  await s.init();
  await s.transact((tx) => tx.put({ type: 'Observation', id: 'a', resource: obs(1), idx: {} }));
  await s.close();
  const log = join(dir, 'commits.log');
  const good = readFileSync(log, 'utf8');
  appendFileSync(log, '[{"t":"Observation","i":"b","v":1,"l":1,"x":{},"r":{"resourceT');
  s = new EmbeddedStore({ dataDir: dir });
  await s.init();
  t.ok(await s.read('Observation', 'a'));
  t.equal(await s.read('Observation', 'b'), undefined);
  await s.transact((tx) => tx.put({ type: 'Observation', id: 'c', resource: obs(3), idx: {} }));
  await s.close();
  t.ok(readFileSync(log, 'utf8').startsWith(good), 'torn bytes were cut before appending');
  s = new EmbeddedStore({ dataDir: dir });
  await s.init();
  t.ok(await s.read('Observation', 'c'));
  await s.close();
  writeFileSync(log, 'garbage\n' + good);
  s = new EmbeddedStore({ dataDir: dir });
  await t.rejects(s.init(), /corrupt/);
});

t.test('hash-indexed lookups answer exactly like a full scan', async (t) => {
  const dir1 = mkdtempSync(join(tmpdir(), 'ccm-h1-'));
  const dir2 = mkdtempSync(join(tmpdir(), 'ccm-h2-'));
  t.teardown(() => [dir1, dir2].forEach((d) => rmSync(d, { recursive: true, force: true })));
  const indexed = new EmbeddedStore({ dataDir: dir1, indexes: TEST_INDEXES });
  const plain = new EmbeddedStore({ dataDir: dir2, indexes: [] });
  await indexed.init();
  await plain.init();
  for (const s of [indexed, plain]) {
    await s.transact(async (tx) => {
      for (let i = 0; i < 200; i++) {
        const refs = [{ p: 'subject', r: `Patient/${i % 7}` }, { p: 'performer', r: `Practitioner/${i % 3}` }];
        await tx.put({ type: i % 2 ? 'Observation' : 'Condition', id: `r${i}`, resource: obs(i), idx: { ref: refs, n: i } });
      }
    });
  }
  const filters = [
    { 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/3' } } },
    { 'idx.ref': { $elemMatch: { p: 'subject', r: { $in: ['Patient/1', 'Patient/2'] } } } },
    { $and: [{ 'idx.ref': { $elemMatch: { p: 'performer', r: 'Practitioner/2' } } }, { 'idx.n': { $gt: 100 } }] },
    { $or: [{ 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/0' } } }, { 'idx.ref': { $elemMatch: { p: 'performer', r: 'Practitioner/1' } } }] },
    { 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/404' } } },
  ];
  for (const f of filters) {
    for (const types of [['Observation'], ['Observation', 'Condition'], []]) {
      const a = (await indexed.find({ types, filter: f, sort: [['id', 1]] })).map((v) => v.id);
      const b = (await plain.find({ types, filter: f, sort: [['id', 1]] })).map((v) => v.id);
      t.same(a, b, `${JSON.stringify(f)} on ${types.join(',') || 'all types'}`);
    }
  }
  await indexed.close();
  await plain.close();
});

t.test('a repeated query is answered again after a commit, and regex filters are told apart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ccm-memo-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const s = new EmbeddedStore({ dataDir: dir, indexes: TEST_INDEXES });
  await s.init();
  await s.transact(async (tx) => {
    await tx.put({ type: 'Patient', id: 'a', resource: obs(1), idx: { name: 'alice' } });
    await tx.put({ type: 'Patient', id: 'b', resource: obs(2), idx: { name: 'bob' } });
  });
  t.equal(await s.count(['Patient'], { 'idx.name': { $regex: /^al/ } }), 1);
  t.same((await s.find({ types: ['Patient'], filter: { 'idx.name': { $regex: /^bo/ } } })).map((v) => v.id), ['b']);
  t.equal(await s.count(['Patient'], { 'idx.name': { $regex: /^a/ } }), 1);
  await s.transact((tx) => tx.put({ type: 'Patient', id: 'c', resource: obs(3), idx: { name: 'alan' } }));
  t.equal(await s.count(['Patient'], { 'idx.name': { $regex: /^a/ } }), 2, 'the commit is seen');
  await s.close();
});

t.test('filters the hash indexes decide alone answer like the full filter', async (t) => {
  const dir1 = mkdtempSync(join(tmpdir(), 'ccm-ex1-'));
  const dir2 = mkdtempSync(join(tmpdir(), 'ccm-ex2-'));
  t.teardown(() => [dir1, dir2].forEach((d) => rmSync(d, { recursive: true, force: true })));
  const specs = [...TEST_INDEXES, { type: 1 as const, 'idx.tok.p': 1 as const, 'idx.tok.c': 1 as const, 'idx.tok.s': 1 as const }];
  const indexed = new EmbeddedStore({ dataDir: dir1, indexes: specs });
  const plain = new EmbeddedStore({ dataDir: dir2, indexes: [] });
  await indexed.init();
  await plain.init();
  for (const s of [indexed, plain]) {
    await s.transact(async (tx) => {
      for (let i = 0; i < 120; i++) {
        const idx = {
          ref: [{ p: 'patient', r: `Patient/${i % 5}` }],
          tok: [
            { p: 'status', s: i % 5 === 1 ? 'other' : 'sys', c: i % 3 ? 'active' : 'resolved' },
            // the system and the code on different elements must not match {s, c} together
            ...(i % 7 === 0 ? [{ p: 'status', s: 'sys', c: 'zzz' }, { p: 'status', s: 'nope', c: 'active' }] : []),
            { p: 'num', c: i % 2 ? 1 : '1' },
          ],
        };
        await tx.put({ type: i % 4 ? 'Condition' : 'Observation', id: `r${i}`, resource: obs(i), idx });
      }
      await tx.put({ type: 'Condition', id: 'r7', expectVid: 1 }); // deleted: never matches
    });
  }
  const filters = [
    { $and: [{ 'idx.ref': { $elemMatch: { p: 'patient', r: 'Patient/2' } } }, { 'idx.tok': { $elemMatch: { p: 'status', c: 'active' } } }] },
    { 'idx.ref': { $elemMatch: { p: 'patient', r: { $in: ['Patient/1', 'Patient/3'] } } }, 'idx.tok': { $elemMatch: { p: 'status', c: 'resolved' } } },
    { 'idx.tok': { $elemMatch: { p: 'num', c: 1 } } },
    { 'idx.tok': { $elemMatch: { p: 'num', c: '1' } } },
    { 'idx.tok': { $elemMatch: { p: 'status', c: 'active', s: 'sys' } } },
    // partly decided by the indexes: the other clause is evaluated on their set
    { $and: [{ 'idx.tok': { $elemMatch: { p: 'status', c: 'active' } } }, { $or: [{ id: { $gt: 'r5' } }, { id: 'r10' }] }] },
    { $and: [{ 'idx.ref': { $elemMatch: { p: 'patient', r: 'Patient/1' } } }, { 'idx.tok': { $elemMatch: { p: 'num', c: { $in: [1] } } } }, { id: { $lt: 'r9' } }] },
  ];
  for (const f of filters) {
    for (const types of [['Condition'], ['Condition', 'Observation']]) {
      const a = (await indexed.find({ types, filter: f, sort: [['id', 1]] })).map((v) => v.id);
      const b = (await plain.find({ types, filter: f, sort: [['id', 1]] })).map((v) => v.id);
      t.same(a, b, `${JSON.stringify(f)} on ${types.join(',')}`);
    }
  }
  await indexed.close();
  await plain.close();
});
