import t from 'tap';
import { requestAuth } from '../../src/auth/context.js';
import { guardStore } from '../../src/auth/guarded-store.js';
import { parseScopes } from '../../src/auth/scopes.js';
import type { SearchService } from '../../src/rest/services.js';
import type { ResourceStore } from '../../src/store/port.js';

// A store with one extra method the guarded view does not know about.
const calls: string[] = [];
const raw = {
  capabilities: { transactions: true, backend: 'fake' },
  ping: async () => void calls.push('ping'),
  bulkExport: async () => (calls.push('bulkExport'), ['everything']),
} as unknown as ResourceStore;
const search = { extractIndex: () => ({}) } as unknown as SearchService;
const store = guardStore(raw, search, ['Patient', 'Condition']) as ResourceStore & { bulkExport(): Promise<string[]> };

t.test('outside a request the raw store answers', async (t) => {
  t.same(await store.bulkExport(), ['everything']);
  t.equal(store.capabilities.backend, 'fake');
});

t.test('under a narrowed token, store methods the view does not cover are refused', async (t) => {
  const ctx = { clientId: 'c', patient: 'p1', grants: parseScopes('patient/*.rs', 'p1') };
  await requestAuth.run({ ctx }, async () => {
    await store.ping();
    t.throws(() => store.bulkExport(), /not covered by the access-token view/);
  });
  const wide = { clientId: 'c', grants: parseScopes('system/*.rs', undefined) };
  await requestAuth.run({ ctx: wide }, async () => {
    t.same(await store.bulkExport(), ['everything'], 'a token that sees everything may use it');
  });
  await requestAuth.run({}, async () => {
    t.throws(() => store.bulkExport(), /Authentication is required/, 'a request without a verified token gets nothing');
  });
});
