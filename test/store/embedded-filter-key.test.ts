import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from 'fhir/r4.js';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';
import type { Filter, IndexValues } from '../../src/store/port.js';

// The embedded store keeps the last answers by a key made from the filter: filters that differ only
// in a regular expression (string :contains, :exact) must never share a key.

t.test('filters that differ only in a RegExp, anywhere in them, get their own answers', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ccm-filter-key-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const s = new EmbeddedStore({ dataDir: dir });
  await s.init();
  const names = ['alpha', 'beta', 'gamma', 'delta'];
  await s.transact(async (tx) => {
    for (const [i, n] of names.entries()) {
      await tx.put({ type: 'Patient', id: `p${i}`, resource: { resourceType: 'Patient' } as Resource, idx: { str: [{ p: 'name', v: n }] } as unknown as IndexValues });
    }
  });
  const ids = async (filter: Filter) => (await s.find({ types: ['Patient'], filter, sort: [['id', 1]] })).map((v) => v.id);
  const shapes: Array<(re: RegExp) => Filter> = [
    (re) => ({ 'idx.str': { $elemMatch: { p: 'name', v: re } } }),
    (re) => ({ 'idx.str': { $elemMatch: { p: 'name', v: { $in: [re] } } } }),
    (re) => ({ $and: [{ id: { $gt: '' } }, { 'idx.str': { $elemMatch: { p: 'name', v: re } } }] }),
  ];
  for (const shape of shapes) {
    t.same(await ids(shape(/ta/)), ['p1', 'p3'], JSON.stringify(shape(/x/)));
    t.same(await ids(shape(/mm/)), ['p2'], 'the same shape with another expression');
    t.same(await ids(shape(/ta/i)), ['p1', 'p3'], 'and another flag');
    t.same(await ids(shape(/^a/)), ['p0']);
  }
  t.same(await s.count(['Patient'], shapes[0](/a$/)), 4);
  t.same(await s.count(['Patient'], shapes[0](/^b/)), 1);
  // distinct keeps its value lists by the same kind of key
  const distinctNames = async (filter: Filter) => s.distinct({ types: ['Patient'], filter, field: 'idx.str', where: { p: 'name' }, key: 'v', limit: 10 });
  for (const shape of shapes) {
    t.same(await distinctNames(shape(/ta/)), ['beta', 'delta'], `distinct: ${JSON.stringify(shape(/x/))}`);
    t.same(await distinctNames(shape(/mm/)), ['gamma']);
    t.same(await distinctNames(shape(/TA/)), []);
    t.same(await distinctNames(shape(/TA/i)), ['beta', 'delta'], 'another flag');
  }
  await s.close();
});
