import t from 'tap';
import { Query } from 'mingo';
import { sortByScalars } from '../../src/store/embedded/scalar-sort.js';
import type { Sort } from '../../src/store/port.js';

t.test('scalar sort orders exactly like the MongoDB sort of mingo', async (t) => {
  const values = [undefined, null, 3, -1, 2.5, 'b', 'a', 'B', '', 'ä', 10, 'a-b'];
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const docs = Array.from({ length: 300 }, (_, i) => {
    const pick = () => values[Math.floor(rnd() * values.length)];
    const d: Record<string, unknown> = { id: `r${i}`, type: i % 3 ? 'Condition' : 'Patient', idx: { srt: { k: { a: pick(), d: pick() } } } };
    if (rnd() < 0.1) delete (d.idx as any).srt;
    return { doc: d };
  });
  const sorts: Sort[] = [
    [['type', 1], ['id', 1]],
    [['idx.srt.k.a', 1], ['id', 1]],
    [['idx.srt.k.d', -1], ['type', 1], ['id', -1]],
  ];
  for (const sort of sorts) {
    const fast = sortByScalars(docs, sort)!.map((r) => r.doc.id);
    const ref = new Query({}).find(docs.map((r) => r.doc)).sort(Object.fromEntries(sort.map(([f, d]) => [f, d]))).all().map((d) => (d as { id: string }).id);
    t.same(fast, ref, JSON.stringify(sort));
    for (const first of [1, 7, 50]) t.same(sortByScalars(docs, sort, first)!.map((r) => r.doc.id), ref.slice(0, first), `first ${first} of ${JSON.stringify(sort)}`);
  }
  t.equal(sortByScalars([{ doc: { a: [1, 2] } }, { doc: { a: 3 } }], [['a', 1]]), undefined, 'arrays are left to mingo');
});
