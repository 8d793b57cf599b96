import t from 'tap';
import { HashIndexes } from '../../src/store/embedded/hash-index.js';
import type { Filter } from '../../src/store/port.js';

// The memo of decided keys is keyed by Decision.key: two filters may share a key only when the
// indexes read them as the same clauses, or one query would get another's answer.
const SPECS: Array<Record<string, 1 | -1>> = [
  { type: 1, 'idx.ref.p': 1, 'idx.ref.r': 1 },
  { type: 1, 'idx.tok.p': 1, 'idx.tok.c': 1, 'idx.tok.s': 1 },
];
const ix = new HashIndexes(SPECS, () => [], () => undefined);

// Values chosen to collide under any naive joining: separators, digits as strings and numbers, booleans.
const VALUES: Array<string | number | boolean> = ['a', 'a,b', 'b', ',', '', '1', 1, 11, '11', true, 'true', 's1:a', '[', ';', '#', 'a(', 'p'];
const pick = <T>(xs: readonly T[], r: () => number) => xs[Math.floor(r() * xs.length)];
const valueOrIn = (r: () => number) => (r() < 0.7 ? pick(VALUES, r) : { $in: Array.from({ length: 1 + Math.floor(r() * 3) }, () => pick(VALUES, r)) });

function randomFilter(r: () => number): Filter {
  const clause = (): Filter => {
    const k = r();
    if (k < 0.2) return { id: valueOrIn(r) };
    if (k < 0.6) return { 'idx.ref': { $elemMatch: { p: valueOrIn(r), r: valueOrIn(r) } } };
    const em: Record<string, unknown> = { p: valueOrIn(r), c: valueOrIn(r) };
    if (r() < 0.5) em.s = pick(VALUES, r);
    if (r() < 0.2) em.x = pick(VALUES, r);
    return { 'idx.tok': { $elemMatch: em } };
  };
  const n = 1 + Math.floor(r() * 2);
  return n === 1 ? clause() : { $and: Array.from({ length: n }, clause) };
}

/** What exact() reads of a decision, written out plainly. */
const meaning = (clauses: unknown[]) =>
  JSON.stringify(clauses.map((c) => { const x = c as { ids?: unknown; def?: { field: string }; as?: unknown; bs?: unknown; wanted?: unknown }; return x.ids ? { ids: x.ids } : { f: x.def!.field, as: x.as, bs: x.bs, w: x.wanted }; }));

t.test('decision keys are equal exactly when the clauses are', async (t) => {
  let seed = 7;
  const r = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const byKey = new Map<string, string>();
  const byMeaning = new Map<string, string>();
  let decided = 0;
  for (let i = 0; i < 4000; i++) {
    const d = ix.decision(randomFilter(r));
    if (!d) continue;
    decided++;
    const m = meaning(d.clauses);
    if (byKey.has(d.key) && byKey.get(d.key) !== m) t.fail(`key ${d.key} names two readings: ${byKey.get(d.key)} and ${m}`);
    if (byMeaning.has(m) && byMeaning.get(m) !== d.key) t.fail(`one reading ${m} has two keys`);
    byKey.set(d.key, m);
    byMeaning.set(m, d.key);
  }
  t.ok(decided > 2000, `${decided} decided filters`);
  t.ok(byKey.size > 1000, `${byKey.size} distinct keys`);
  t.equal(byKey.size, byMeaning.size);
});

t.test('values that differ only in type or in where a separator falls get different keys', async (t) => {
  const key = (f: Filter) => ix.decision(f)!.key;
  const ref = (r: unknown) => ({ 'idx.ref': { $elemMatch: { p: 'subject', r } } });
  t.not(key(ref('1')), key(ref(1)));
  t.not(key(ref({ $in: ['a,b'] })), key(ref({ $in: ['a', 'b'] })));
  t.not(key({ 'idx.tok': { $elemMatch: { p: 'a', c: 'b', s: 'c' } } }), key({ 'idx.tok': { $elemMatch: { p: 'a', c: 'b' } } }));
  t.equal(key(ref('Patient/1')), key({ $and: [ref('Patient/1')] }), 'the same clause, top level or in $and');
  t.equal(ix.decision({ 'idx.ref': { $elemMatch: { p: 'subject', r: { $gt: 'a' } } } }), undefined, 'a range is not decided');
});
