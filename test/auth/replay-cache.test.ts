import t from 'tap';
import { ReplayCache } from '../../src/auth/token-endpoint.js';

// A client assertion's jti is refused the second time until it expires; the table is swept of
// expired ids at most every 10 s once it is large (a sweep per request cost a pass over it each).
t.test('replayed assertion ids are refused; expired ones are swept, not on every request', async (t) => {
  const realNow = Date.now;
  let now = 1_000_000_000_000;
  Date.now = () => now;
  t.teardown(() => {
    Date.now = realNow;
  });
  const cache = new ReplayCache();
  const sec = now / 1000;
  t.equal(cache.add('a', sec + 300), true);
  t.equal(cache.add('a', sec + 300), false, 'a replay is refused');
  for (let i = 0; i < 10_001; i++) cache.add(`old${i}`, sec + 1);
  const size = () => (cache as unknown as { seen: Map<string, number> }).seen.size;
  now += 3_600_000; // an hour later: every old id has expired
  cache.add('b', now / 1000 + 300);
  t.equal(size(), 1, 'the first request past 10,000 sweeps the expired ids (a too)');
  t.equal(cache.add('a', now / 1000 + 300), true, 'an expired id may be used again');
  for (let i = 0; i < 10_001; i++) cache.add(`new${i}`, now / 1000 + 1);
  now += 5_000;
  cache.add('c', now / 1000 + 300);
  t.ok(size() > 10_000, 'no sweep again within 10 s');
  now += 60_000;
  cache.add('d', now / 1000 + 300);
  t.equal(size(), 4, 'the next one after 10 s sweeps (a, b, c live; d added)');
  t.equal(cache.add('c', now / 1000 + 300), false, 'live ids stay');
});
