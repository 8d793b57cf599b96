import { FhirError } from '../fhir/errors.js';
import type { SearchService } from '../rest/services.js';
import type { DistinctQuery, Filter, FindQuery, HistoryQuery, PutInput, ResourceStore, StoredVersion, StoreTx } from '../store/port.js';
import { allOf } from '../search/compiled.js';
import { requestAuth, type AuthContext } from './context.js';
import { Policies } from './policies.js';
import { forbidden, type AccessPolicy } from './policy.js';
import { NOT_IN_WILDCARD } from './scopes.js';
import { compartmentParams } from '../fhir/compartment-definitions.js';

/** Every parameter that puts a resource of some type in a Patient's compartment. */
const PATIENT_PARAMS = [...new Set([...(compartmentParams('Patient')?.values() ?? [])].flat())];

/** Store methods that touch no resource data. */
const PASS_THROUGH = new Set<string | symbol>(['init', 'close', 'ping', 'constructor']);

/** A method the guarded view does not cover, called under a narrowed token: refused rather than unchecked. */
const unguarded = (prop: string | symbol) => () => {
  throw FhirError.of(500, 'exception', `Store method ${String(prop)} is not covered by the access-token view (src/auth/guarded-store.ts)`);
};

/**
 * A query's filter and the token's narrowing (compartments, query restrictions) as one flat conjunction (allOf drops an empty filter
 * and flattens), so the store's indexes can decide the narrowing clause instead of evaluating it row by row.
 */
const withNarrowing = (filter: Filter, n: { filter?: Filter }): Filter => (n.filter ? allOf([filter, n.filter]) : filter);

/** Most history versions looked at to fill one page (or count) for a narrowed token. */
const HISTORY_SCAN_LIMIT = 100_000;

/**
 * The store as one access token sees it. Every interaction (read, search with chaining, _has,
 * _include/_revinclude, history, transaction/batch entries, operations) reaches the data
 * through the store, so enforcing here confines all of them at once: queries (find, count,
 * distinct) get the patient compartment and the v2 query restrictions as a filter the store runs
 * (or are refused types the token may not see), so pages and counts hold only what the grants
 * allow; rows read by key are checked against both; writes are refused (403) outside the token's grants.
 *
 * Outside a request (start-up, background work) the raw store answers. init, close, ping and
 * capabilities pass through; any other store or transaction method this view does not know is
 * refused (500) under a token that needs narrowing, so a new port method cannot bypass it silently.
 */
export function guardStore(raw: ResourceStore, search: SearchService, resourceTypes: readonly string[], policies = new Policies(raw, search, 'care-team', '')): ResourceStore {
  /** The verified token of the current request; undefined outside a request. */
  const token = (): AuthContext | undefined => {
    const holder = requestAuth.getStore();
    if (!holder) return undefined;
    if (!holder.ctx) throw FhirError.of(401, 'login', 'Authentication is required');
    return holder.ctx;
  };
  const policy = async (): Promise<AccessPolicy | undefined> => {
    const ctx = token();
    return ctx ? policies.for(ctx) : undefined;
  };
  /**
   * Whether reads must be narrowed (decided synchronously). A token that sees everything reads the
   * raw store unless the read can reach a type its `*` grants do not cover (AuditEvent, scopes.ts):
   * `types` are the read's types, empty for all.
   */
  const narrowed = (types?: readonly string[]) => {
    const ctx = token();
    return ctx !== undefined && (!policies.seesEverything(ctx) || (types !== undefined && (types.length === 0 || types.some((t) => NOT_IN_WILDCARD.has(t)))));
  };
  /** The policy when reads of `types` must be narrowed; undefined when the raw store may answer. */
  const readPolicy = async (types?: readonly string[]) => (narrowed(types) ? policy() : undefined);
  const typeOfKey = (key: string) => key.slice(0, key.indexOf('/'));

  const find = async (p: AccessPolicy, reader: { find: StoreTx['find'] }, q: FindQuery): Promise<StoredVersion[]> => {
    const n = await p.narrow(q.types.length ? q.types : resourceTypes, raw);
    if (n.types.length === 0) return [];
    const all = q.types.length === 0 && n.types.length === resourceTypes.length && !n.filter;
    const rows = await reader.find({ ...q, types: all ? [] : n.types, filter: withNarrowing(q.filter, n) });
    return p.visibleRows(rows, raw, true);
  };
  const one = async (p: AccessPolicy, v: StoredVersion | undefined): Promise<StoredVersion | undefined> =>
    v ? (await p.visibleRows([v], raw, false))[0] : undefined;

  const history = async (p: AccessPolicy, q: HistoryQuery): Promise<StoredVersion[]> => {
    const out: StoredVersion[] = [];
    let after = q.after;
    let scanned = 0;
    while (out.length < q.limit && scanned < HISTORY_SCAN_LIMIT) {
      const batch = await raw.history({ ...q, after, limit: Math.max(q.limit, 100) });
      if (batch.length === 0) break;
      scanned += batch.length;
      for (const v of await p.visibleRows(batch, raw, false)) {
        out.push(v);
        if (out.length >= q.limit) break;
      }
      const last = batch[batch.length - 1];
      after = { lu: last.lu, key: `${last.type}/${last.id}/${last.vid}` };
      if (batch.length < Math.max(q.limit, 100)) break;
    }
    // Rows after the last one returned were scanned but not kept: the next page restarts there.
    return out;
  };

  /**
   * A Patient a carer registers joins its panel with its whole compartment, so its id must be one
   * no stored resource names yet (a client-chosen id, e.g. by a conditional update that creates):
   * else registering would claim data written about that id before.
   */
  const unnamed = async (tx: StoreTx, id: string): Promise<void> => {
    // By the compartment's parameters (any type's), so the reference index answers it: a bare
    // reference value was a scan of every resource in the store.
    const named = await tx.find({ types: [], filter: { 'idx.ref': { $elemMatch: { p: { $in: PATIENT_PARAMS }, r: `Patient/${id}` } } }, limit: 1 });
    if (named.length) throw forbidden(`Patient/${id} is already named by stored resources: a new Patient registered by its carer needs an id nothing refers to`);
  };

  const guardTx = (p: AccessPolicy, tx: StoreTx): StoreTx => {
    /** Versions read() hid, by Type/id: a write based on "nothing there" may go over a hidden deletion. */
    const hidden = new Map<string, number>();
    return new Proxy(tx, {
      get(target, prop, receiver) {
        // What a transaction reads is what it may read, or change: update, patch and delete read
        // the version they replace here, and u or d without r must still find it.
        if (prop === 'read')
          return async (type: string, id: string) => {
            const v = await target.read(type, id);
            if (!v || (await one(p, v)) || p.mayChange(v)) return v;
            hidden.set(`${type}/${id}`, v.vid);
            return undefined;
          };
        if (prop === 'find') return (q: FindQuery) => find(p, target, q);
        if (prop === 'narrowed') return narrowed();
        if (prop === 'put')
          return async (input: PutInput) => {
            const current = await target.read(input.type, input.id);
            const existing = current && !current.deleted ? current.resource : undefined;
            // Index values at hand (the stored version's, the write's own) spare extracting them again.
            const idx = { existing: current?.idx, next: input.idx };
            if (input.resource === undefined) p.checkWrite(input.type, 'd', existing, undefined, false, idx);
            // The new content as stored: a created resource gets its id from the store.
            else if (p.checkWrite(input.type, existing ? 'u' : 'c', existing, { ...input.resource, id: input.id }, current === undefined, idx)) await unnamed(target, input.id);
            // An allowed write over a deletion read() hid (a compartment grant does not see
            // deletions): the caller's "not there" was this version, not a concurrent change.
            if (input.expectVid === 0 && current && hidden.get(`${input.type}/${input.id}`) === current.vid) return target.put({ ...input, expectVid: current.vid });
            return target.put(input);
          };
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v === 'function' && prop !== 'lock') return unguarded(prop);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  };

  return new Proxy(raw, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      const pass = typeof v === 'function' ? v.bind(target) : v;
      switch (prop) {
        case 'find':
          return async (q: FindQuery) => {
            const p = await readPolicy(q.types);
            return p ? find(p, target, q) : target.find(q);
          };
        case 'count':
          return async (types: readonly string[], filter: Record<string, unknown>) => {
            const p = await readPolicy(types);
            if (!p) return target.count(types, filter);
            const n = await p.narrow(types.length ? types : resourceTypes, raw);
            if (n.types.length === 0) return 0;
            return target.count(n.types, withNarrowing(filter, n));
          };
        case 'distinct':
          return async (q: DistinctQuery) => {
            const p = await readPolicy(q.types);
            if (!p) return target.distinct(q);
            const n = await p.narrow(q.types.length ? q.types : resourceTypes, raw);
            if (n.types.length === 0) return [];
            return target.distinct({ ...q, types: n.types, filter: withNarrowing(q.filter, n) });
          };
        case 'read':
          return async (type: string, id: string) => {
            const p = await readPolicy([type]);
            return p ? one(p, await target.read(type, id)) : target.read(type, id);
          };
        case 'readVersion':
          return async (type: string, id: string, vid: number) => {
            const p = await readPolicy([type]);
            return p ? one(p, await target.readVersion(type, id, vid)) : target.readVersion(type, id, vid);
          };
        case 'readMany':
          return async (keys: readonly string[]) => {
            const p = await readPolicy(keys.map(typeOfKey));
            const rows = await target.readMany(keys);
            return p ? p.visibleRows(rows, target, false) : rows;
          };
        case 'history':
          return async (q: HistoryQuery) => {
            const p = await readPolicy(q.type ? [q.type] : []);
            return p ? history(p, q) : target.history(q);
          };
        case 'countHistory':
          return async (q: Omit<HistoryQuery, 'limit' | 'after'>) => {
            const p = await readPolicy(q.type ? [q.type] : []);
            if (!p) return target.countHistory(q);
            // Everything but the types `*` does not cover: the store counts both, no scan.
            if (policies.seesEverything(p.ctx) && !q.type) {
              let n = await target.countHistory(q);
              for (const t of NOT_IN_WILDCARD) if (!p.typeAccess(t).visible) n -= await target.countHistory({ ...q, type: t });
              return n;
            }
            return (await history(p, { ...q, limit: HISTORY_SCAN_LIMIT })).length;
          };
        case 'transact':
          return async <T>(fn: (tx: StoreTx) => Promise<T>) => {
            const p = await policy();
            return p ? target.transact((tx) => fn(guardTx(p, tx))) : target.transact(fn);
          };
        default:
          // Fail closed: a store method this view does not know could bypass it.
          if (typeof v === 'function' && !PASS_THROUGH.has(prop) && narrowed()) return unguarded(prop);
          return pass;
      }
    },
  });
}
