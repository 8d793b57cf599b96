import t from 'tap';
import type { Patient, Resource } from 'fhir/r4.js';
import { storeFactories } from '../helpers/stores.js';
import { requiresOf } from '../helpers/capabilities.js';
import { VersionConflict } from '../../src/store/port.js';

const patient = (family: string): Patient => ({ resourceType: 'Patient', name: [{ family }] });
const refIdx = (r: string) => ({ ref: [{ p: 'subject', r }] });

for (const factory of storeFactories()) {
  t.test(`store conformance: ${factory.name}`, async (t) => {
    const { store, cleanup } = await factory.open();
    t.teardown(cleanup);

    t.test('put assigns versions and stamps meta; read and readVersion', async (t) => {
      const v1 = await store.transact((tx) => tx.put({ type: 'Patient', id: 'p1', resource: patient('A'), idx: {}, expectVid: 0 }));
      t.equal(v1.vid, 1);
      t.equal(v1.resource!.meta!.versionId, '1');
      t.equal(v1.resource!.meta!.lastUpdated, new Date(v1.lu).toISOString());
      t.equal(v1.resource!.id, 'p1');
      const v2 = await store.transact((tx) => tx.put({ type: 'Patient', id: 'p1', resource: patient('B'), idx: {}, expectVid: 1 }));
      t.equal(v2.vid, 2);
      t.ok(v2.lu >= v1.lu);
      const cur = await store.read('Patient', 'p1');
      t.equal(cur!.vid, 2);
      t.same((cur!.resource as Patient).name, [{ family: 'B' }]);
      t.same(JSON.parse(cur!.json!), cur!.resource);
      const old = await store.readVersion('Patient', 'p1', 1);
      t.same((old!.resource as Patient).name, [{ family: 'A' }]);
      t.equal(await store.readVersion('Patient', 'p1', 3), undefined);
      t.equal(await store.read('Patient', 'nope'), undefined);
    });

    t.test('expectVid mismatch is a VersionConflict and writes nothing', async (t) => {
      await t.rejects(
        store.transact((tx) => tx.put({ type: 'Patient', id: 'p1', resource: patient('C'), idx: {}, expectVid: 1 })),
        VersionConflict,
      );
      await t.rejects(store.transact((tx) => tx.put({ type: 'Patient', id: 'p1', resource: patient('C'), idx: {}, expectVid: 0 })), VersionConflict);
      t.equal((await store.read('Patient', 'p1'))!.vid, 2);
    });

    t.test('deletion is a tombstone version; find and readMany skip it', async (t) => {
      await store.transact((tx) => tx.put({ type: 'Patient', id: 'gone', resource: patient('G'), idx: {} }));
      const del = await store.transact((tx) => tx.put({ type: 'Patient', id: 'gone', expectVid: 1 }));
      t.equal(del.vid, 2);
      t.equal(del.deleted, true);
      t.equal(del.resource, undefined);
      const cur = await store.read('Patient', 'gone');
      t.equal(cur!.deleted, true);
      t.equal((await store.find({ types: ['Patient'], filter: { id: 'gone' } })).length, 0);
      t.equal((await store.readMany(['Patient/gone', 'Patient/p1'])).length, 1);
      // recreate after delete continues the version sequence
      const again = await store.transact((tx) => tx.put({ type: 'Patient', id: 'gone', resource: patient('G2'), idx: {}, expectVid: 2 }));
      t.equal(again.vid, 3);
    });

    t.test('a transaction is all or nothing, and reads its own writes', async (t) => {
      await t.rejects(
        store.transact(async (tx) => {
          await tx.put({ type: 'Observation', id: 'o1', resource: { resourceType: 'Observation' } as Resource, idx: refIdx('Patient/p1') });
          const seen = await tx.read('Observation', 'o1');
          t.equal(seen?.vid, 1, 'own write visible to read');
          const found = await tx.find({ types: ['Observation'], filter: { 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/p1' } } } });
          t.equal(found.length, 1, 'own write visible to find');
          throw new Error('abort');
        }),
        /abort/,
      );
      t.equal(await store.read('Observation', 'o1'), undefined);
      t.equal(await store.count(['Observation'], {}), 0);
    });

    // the same searches without a multi-resource transaction: test/store/mongo-relaxed.test.ts
    t.test('find: filters on idx, sort, skip, limit, count, types', requiresOf(store.capabilities, 'transactions', 'its setup writes ten resources in one transaction'), async (t) => {
      await store.transact(async (tx) => {
        for (let i = 0; i < 10; i++) {
          await tx.put({
            type: 'Condition',
            id: `c${i}`,
            resource: { resourceType: 'Condition', subject: { reference: `Patient/p${i % 2}` } } as Resource,
            idx: { ref: [{ p: 'subject', r: `Patient/p${i % 2}` }], n: i },
          });
        }
      });
      const byP0 = await store.find({ types: ['Condition'], filter: { 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/p0' } } }, sort: [['idx.n', -1]] });
      t.same(byP0.map((v) => v.id), ['c8', 'c6', 'c4', 'c2', 'c0']);
      const inList = await store.find({ types: ['Condition'], filter: { 'idx.ref': { $elemMatch: { p: 'subject', r: { $in: ['Patient/p0', 'Patient/p1'] } } } }, sort: [['id', 1]], skip: 2, limit: 3 });
      t.same(inList.map((v) => v.id), ['c2', 'c3', 'c4']);
      t.equal(await store.count(['Condition'], { 'idx.n': { $gte: 5 } }), 5);
      t.equal(await store.count(['Condition', 'Patient'], {}), 10 + (await store.count(['Patient'], {})));
      const orFilter = { $or: [{ 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/p1' } } }, { id: 'c0' }] };
      t.equal(await store.count(['Condition'], orFilter), 6);
      const combined = { $and: [{ 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/p1' } } }, { 'idx.n': { $lt: 4 } }] };
      t.same((await store.find({ types: ['Condition'], filter: combined, sort: [['id', 1]] })).map((v) => v.id), ['c1', 'c3']);
      t.same((await store.find({ types: ['Condition'], filter: { id: { $in: ['c1', 'c9', 'zz'] } }, sort: [['id', 1]] })).map((v) => v.id), ['c1', 'c9']);
      // an update moves the index entry
      await store.transact((tx) => tx.put({ type: 'Condition', id: 'c0', resource: { resourceType: 'Condition' } as Resource, idx: { ref: [{ p: 'subject', r: 'Patient/p9' }], n: 0 } }));
      t.equal(await store.count(['Condition'], { 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/p0' } } }), 4);
      t.equal(await store.count(['Condition'], { 'idx.ref': { $elemMatch: { p: 'subject', r: 'Patient/p9' } } }), 1);
    });

    t.test('history: newest first, since/before, cursor paging, counts', async (t) => {
      const all = await store.history({ type: 'Patient', id: 'p1', limit: 10 });
      t.same(all.map((v) => v.vid), [2, 1]);
      t.equal(await store.countHistory({ type: 'Patient', id: 'p1' }), 2);
      const typeHist = await store.history({ type: 'Patient', limit: 100 });
      t.ok(typeHist.every((v) => v.type === 'Patient'));
      for (let i = 1; i < typeHist.length; i++) t.ok(typeHist[i - 1].lu >= typeHist[i].lu, 'ordered newest first');
      const page1 = await store.history({ limit: 3 });
      const last = page1[page1.length - 1];
      const page2 = await store.history({ limit: 3, after: { lu: last.lu, key: `${last.type}/${last.id}/${last.vid}` } });
      const system = await store.history({ limit: 6 });
      t.same([...page1, ...page2].map((v) => `${v.type}/${v.id}/${v.vid}`), system.map((v) => `${v.type}/${v.id}/${v.vid}`));
      const since = await store.history({ since: last.lu, limit: 1000 });
      t.ok(since.every((v) => v.lu >= last.lu));
      const before = await store.history({ before: last.lu, limit: 1000 });
      t.ok(before.every((v) => v.lu <= last.lu));
      t.equal(await store.countHistory({}), (await store.history({ limit: 100000 })).length);
    });

    // One write per unit of work: runs on servers without multi-document transactions too.
    t.test('distinct: index element values of matching resources, ordered and paged', async (t) => {
      const cm = { p: 'dtype', s: 'S', c: 'cm' };
      const put = (type: string, id: string, idx: Record<string, unknown> | undefined) =>
        store.transact((tx) => tx.put({ type, id, resource: idx ? ({ resourceType: type } as Resource) : undefined, idx }));
      await put('Encounter', 'd1', { ref: [{ p: 'dsubj', r: 'Patient/b' }, { p: 'dpart', r: 'Practitioner/x' }], tok: [cm] });
      await put('Encounter', 'd2', { ref: [{ p: 'dsubj', r: 'Patient/a' }], tok: [cm] });
      await put('Encounter', 'd3', { ref: [{ p: 'dsubj', r: 'Patient/b' }], tok: [cm, { p: 'dtype', s: 'S', c: 'other' }] });
      await put('Encounter', 'd4', { ref: [{ p: 'dsubj', r: 'Patient/c' }], tok: [{ p: 'dtype', s: 'S', c: 'other' }] });
      await put('Encounter', 'd5', { ref: [{ p: 'dsubj', r: 'Group/g' }], tok: [cm] });
      await put('Encounter', 'd6', { ref: [{ p: 'dsubj', r: 'Patient/d' }], tok: [cm] });
      await put('Encounter', 'd6', undefined); // deleted: its values no longer count
      await put('Encounter', 'd7', { ref: [{ p: 'dpatient', r: 'Patient/z' }], tok: [cm] });
      await put('Procedure', 'd8', { ref: [{ p: 'dsubj', r: 'Patient/y' }], tok: [cm] });
      const isCm = { 'idx.tok': { $elemMatch: { p: 'dtype', c: 'cm', s: 'S' } } };
      const q = { types: ['Encounter'], filter: isCm, field: 'idx.ref', where: { p: 'dsubj' }, key: 'r', prefix: 'Patient/', limit: 100 };
      t.same(await store.distinct(q), ['Patient/a', 'Patient/b'], 'each value once, ascending; other elements, other codes, other prefixes, deleted resources left out');
      t.same(await store.distinct({ ...q, limit: 1 }), ['Patient/a'], 'limit');
      t.same(await store.distinct({ ...q, after: 'Patient/a' }), ['Patient/b'], 'after the last value of a page');
      t.same(await store.distinct({ ...q, after: 'Patient/b' }), [], 'past the end');
      t.same(await store.distinct({ ...q, limit: 0 }), []);
      // A filter without $elemMatch, which every server runs exactly (the pipeline on FerretDB too).
      const plain = { ...q, filter: { id: { $in: ['d1', 'd2', 'd4', 'd5', 'd6', 'd7'] } }, prefix: undefined };
      t.same(await store.distinct(plain), ['Group/g', 'Patient/a', 'Patient/b', 'Patient/c'], 'no prefix: every value of the element');
      t.same(await store.distinct({ ...plain, where: undefined }), ['Group/g', 'Patient/a', 'Patient/b', 'Patient/c', 'Patient/z', 'Practitioner/x'], 'no where: every element');
      t.same(await store.distinct({ ...q, types: [] }), ['Patient/a', 'Patient/b', 'Patient/y'], 'all types');
      // A new write is seen by the next call (nothing stale is kept).
      await put('Encounter', 'd9', { ref: [{ p: 'dsubj', r: 'Patient/0' }], tok: [cm] });
      t.same(await store.distinct(q), ['Patient/0', 'Patient/a', 'Patient/b']);
      await put('Encounter', 'd2', { ref: [{ p: 'dsubj', r: 'Patient/a2' }], tok: [cm] });
      t.same(await store.distinct(q), ['Patient/0', 'Patient/a2', 'Patient/b'], 'an update moves the value');
    });

    t.test('ping', async (t) => {
      await t.resolves(store.ping());
    });
  });
}
