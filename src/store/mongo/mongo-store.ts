import { Query } from 'mingo';
import { MongoClient, MongoServerError, type ClientSession, type Collection, type Db, type Document } from 'mongodb';
import type { DistinctQuery, Filter, FindQuery, HistoryQuery, PutInput, ResourceStore, StoreCapabilities, StoredVersion, StoreTx } from '../port.js';
import { VersionConflict } from '../port.js';
import { resourceKey, stampResource, versionKey } from '../stamp.js';
import { MongoVersion, type VersionDoc } from './mongo-version.js';
import { FhirError } from '../../fhir/errors.js';
import { relaxFilter } from './relax.js';
import { aggregateDistinct, scanDistinct } from './mongo-distinct.js';
import { keptText } from '../../fhir/json-decimals.js';

export interface MongoStoreOptions {
  uri: string;
  dbName: string;
  /** Index specs on the current-version documents (from the search engine). */
  indexes: ReadonlyArray<Record<string, 1 | -1>>;
}

const DUPLICATE_KEY = 11000;
const LOCK_LEASE_MS = 30_000;
/**
 * Without transactions, a history version above the current one that is older than this is
 * taken for the leftover of a crash between the two writes of a put (a put in flight takes
 * milliseconds); until then, writes to that resource get a version conflict.
 */
export const ORPHAN_AFTER_MS = 30_000;

function isDuplicateKey(e: unknown): boolean {
  return e instanceof MongoServerError && e.code === DUPLICATE_KEY;
}

/**
 * MongoDB adapter, kept thin: current versions in `resources` (deletions as tombstones),
 * every version in `history`, conditional-operation locks in `locks`. Transactions need a
 * replica set or sharded cluster; without one, single-resource writes stay safe (unique
 * version keys) and multi-resource transactions are refused rather than half-applied.
 */
export class MongoStore implements ResourceStore {
  capabilities: StoreCapabilities = { transactions: false, backend: 'mongodb' };
  /** Server name and version, e.g. "FerretDB v1.24.2" or "MongoDB 7.0.14". */
  server = 'MongoDB';
  private client: MongoClient;
  private db!: Db;
  current!: Collection<VersionDoc>;
  historyColl!: Collection<VersionDoc>;
  locks!: Collection<{ _id: string; until: Date }>;

  constructor(private readonly opts: MongoStoreOptions) {
    // Reads see only majority-committed writes, as writes are acknowledged only once majority-committed:
    // no answer rests on a write a failover could roll back (the embedded store's settled reads, likewise).
    this.client = new MongoClient(opts.uri, { writeConcern: { w: 'majority', journal: true }, readConcern: { level: 'majority' }, retryWrites: true, appName: 'ccm-fhir-server' });
  }

  async init(): Promise<void> {
    await this.client.connect();
    this.db = this.client.db(this.opts.dbName);
    this.current = this.db.collection('resources');
    this.historyColl = this.db.collection('history');
    this.locks = this.db.collection('locks');
    const hello = await this.db.admin().command({ hello: 1 });
    const build = await this.db.admin().command({ buildInfo: 1 }).catch(() => ({ version: 'unknown' }) as Document);
    const replicated = Boolean(hello.setName) || hello.msg === 'isdbgrid';
    // Probed, not inferred from the version: wire-compatible servers differ from what they report.
    const transactions = await this.probeTransactions();
    const elemMatch = await this.probeElemMatch();
    await this.current.createIndex({ type: 1, lu: -1 });
    for (const spec of this.opts.indexes) await this.current.createIndex(spec);
    await this.historyColl.createIndex({ type: 1, id: 1, vid: -1 });
    await this.historyColl.createIndex({ lu: -1, _id: -1 });
    await this.historyColl.createIndex({ type: 1, lu: -1, _id: -1 });
    // Without a TTL index, leases left by a crashed process are removed by the next contender.
    const ttlIndexes = await this.locks.createIndex({ until: 1 }, { expireAfterSeconds: 0 }).then(
      () => true,
      () => false,
    );
    const flavour = build.ferretdbVersion ? `FerretDB ${String(build.ferretdbVersion)}` : `MongoDB ${String(build.version)}`;
    this.server = flavour;
    const notes = [
      flavour,
      replicated ? 'replicated' : 'standalone',
      transactions ? 'transactions' : 'no multi-document transactions (multi-resource transactions refused)',
      elemMatch ? '$elemMatch' : '$elemMatch unreliable (relaxed filters, exact match in-process)',
      ...(ttlIndexes ? [] : ['no TTL index']),
    ];
    this.capabilities = { transactions, elemMatch, ttlIndexes, backend: `mongodb (${notes.join(', ')})` };
  }

  /** One real multi-document transaction; some wire-compatible servers advertise replica sets without supporting them. */
  private async probeTransactions(): Promise<boolean> {
    const session = this.client.startSession();
    try {
      await session.withTransaction(async () => {
        await this.locks.updateOne({ _id: '__probe' }, { $set: { until: new Date(0) } }, { upsert: true, session });
      });
      return true;
    } catch {
      return false;
    } finally {
      await session.endSession();
    }
  }

  /**
   * `$elemMatch` over subdocument fields on a tiny collection, with the answers FerretDB 1.x
   * gets wrong: conditions met by different elements, ranges split across elements.
   */
  private async probeElemMatch(): Promise<boolean> {
    const coll = this.db.collection<{ _id: string; e: unknown[] }>(`probe_elemmatch_${process.pid}_${Math.random().toString(36).slice(2, 8)}`);
    try {
      await coll.insertMany([
        { _id: 'a', e: [{ p: 'x', r: '1', lo: 1, hi: 5 }, { p: 'y', r: '2', lo: 10, hi: 20 }] },
        { _id: 'b', e: [{ p: 'x', r: '2', lo: 6, hi: 8 }] },
      ]);
      const ids = async (f: Document) => (await coll.find(f).sort({ _id: 1 }).toArray()).map((d) => d._id).join(',');
      const checks: Array<[Document, string]> = [
        [{ e: { $elemMatch: { p: 'x', r: '2' } } }, 'b'],
        [{ e: { $elemMatch: { p: 'y', r: { $in: ['2', '3'] } } } }, 'a'],
        [{ e: { $elemMatch: { lo: { $gte: 6 }, hi: { $lte: 8 } } } }, 'b'],
        [{ e: { $elemMatch: { p: 'x', lo: { $lte: 3 } } } }, 'a'],
      ];
      for (const [f, want] of checks) if ((await ids(f)) !== want) return false;
      return true;
    } catch {
      return false;
    } finally {
      await coll.drop().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  async ping(): Promise<void> {
    await this.db.command({ ping: 1 });
  }

  async read(type: string, id: string): Promise<StoredVersion | undefined> {
    const d = await this.current.findOne({ _id: resourceKey(type, id) });
    return d ? new MongoVersion(d) : undefined;
  }

  async readVersion(type: string, id: string, vid: number): Promise<StoredVersion | undefined> {
    const d = await this.historyColl.findOne({ _id: versionKey(type, id, vid) });
    return d ? new MongoVersion(d) : undefined;
  }

  async setIndex(type: string, id: string, vid: number, idx: Record<string, unknown>): Promise<boolean> {
    // A single-document update: atomic on MongoDB without a transaction.
    const r = await this.current.updateOne({ _id: resourceKey(type, id), vid, deleted: false }, { $set: { idx } });
    return r.matchedCount === 1;
  }

  async readMany(keys: readonly string[]): Promise<StoredVersion[]> {
    if (keys.length === 0) return [];
    const docs = await this.current.find({ _id: { $in: [...keys] }, deleted: false }).toArray();
    return docs.map((d) => new MongoVersion(d));
  }

  liveFilter(types: readonly string[], filter: Filter): Document {
    const parts: Document[] = [{ deleted: false }];
    if (types.length === 1) parts.push({ type: types[0] });
    else if (types.length > 1) parts.push({ type: { $in: [...types] } });
    if (Object.keys(filter).length) parts.push(filter);
    return { $and: parts };
  }

  async find(q: FindQuery, session?: ClientSession): Promise<StoredVersion[]> {
    const full = this.liveFilter(q.types, q.filter);
    const relaxed = this.relaxed(full);
    if (!relaxed) {
      let cursor = this.current.find(full, { session });
      if (q.sort?.length) cursor = cursor.sort(q.sort.map(([f, d]) => [f, d] as [string, 1 | -1]));
      if (q.skip) cursor = cursor.skip(q.skip);
      if (q.limit !== undefined) cursor = cursor.limit(q.limit);
      return (await cursor.toArray()).map((d) => new MongoVersion(d));
    }
    // The server answers a superset; the exact filter, the sort and the page are applied here,
    // by the same query engine as the embedded store.
    const candidates = await this.current.find(relaxed, { session }).toArray();
    let cursor = new Query(full).find(candidates);
    if (q.sort?.length) cursor = cursor.sort(Object.fromEntries(q.sort.map(([f, d]) => [f, d])));
    if (q.skip) cursor = cursor.skip(q.skip);
    if (q.limit !== undefined) cursor = cursor.limit(q.limit);
    return (cursor.all() as VersionDoc[]).map((d) => new MongoVersion(d));
  }

  async count(types: readonly string[], filter: Filter): Promise<number> {
    const full = this.liveFilter(types, filter);
    const relaxed = this.relaxed(full);
    if (!relaxed) return this.current.countDocuments(full);
    const candidates = await this.current.find(relaxed, { projection: { res: 0, txt: 0 } }).toArray();
    const query = new Query(full);
    return candidates.reduce((n, d) => (query.test(d) ? n + 1 : n), 0);
  }

  async distinct(q: DistinctQuery): Promise<string[]> {
    if (q.limit <= 0) return [];
    const full = this.liveFilter(q.types, q.filter);
    const relaxed = this.relaxed(full);
    // Not on FerretDB 1.x, not even as a probe: its $project takes no field paths, $unwind of a
    // nested array answers nothing, and $unwind of a projected field closes the connection.
    if (!relaxed && !this.server.startsWith('FerretDB')) return aggregateDistinct(this.current, full, q);
    return scanDistinct(this.current, full, relaxed ?? full, q);
  }

  /** The filter to send instead of `full` when the server cannot answer it exactly; undefined = send `full`. */
  private relaxed(full: Document): Document | undefined {
    if (this.capabilities.elemMatch !== false) return undefined;
    const r = relaxFilter(full);
    return r.exact ? undefined : r.filter;
  }

  private historyFilter(q: Omit<HistoryQuery, 'limit'>): Document {
    const f: Document = {};
    if (q.type) f.type = q.type;
    if (q.id) f.id = q.id;
    if (q.since !== undefined || q.before !== undefined) {
      f.lu = {};
      if (q.since !== undefined) f.lu.$gte = q.since;
      if (q.before !== undefined) f.lu.$lte = q.before;
    }
    if (q.after) return { $and: [f, { $or: [{ lu: { $lt: q.after.lu } }, { lu: q.after.lu, _id: { $lt: q.after.key } }] }] };
    return f;
  }

  async history(q: HistoryQuery): Promise<StoredVersion[]> {
    const docs = await this.historyColl.find(this.historyFilter(q)).sort([['lu', -1], ['_id', -1]]).limit(q.limit).toArray();
    return docs.map((d) => new MongoVersion(d));
  }

  async countHistory(q: Omit<HistoryQuery, 'limit' | 'after'>): Promise<number> {
    return this.historyColl.countDocuments(this.historyFilter(q));
  }

  async transact<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (!this.capabilities.transactions) {
      const tx = new MongoTx(this, undefined);
      try {
        return await fn(tx);
      } catch (e) {
        // All or nothing without a transaction: the unit of work holds at most one write,
        // which is undone when fn fails after it (not crash-safe, and not isolated: others
        // may have read it meanwhile).
        await tx.undo().catch(() => undefined); // the original error matters more
        throw e;
      } finally {
        await tx.releaseLocks();
      }
    }
    const session = this.client.startSession();
    try {
      let result!: T;
      await session.withTransaction(
        async () => {
          result = await fn(new MongoTx(this, session));
        },
        { readConcern: { level: 'snapshot' }, writeConcern: { w: 'majority', journal: true } },
      );
      return result;
    } finally {
      await session.endSession();
    }
  }
}

class MongoTx implements StoreTx {
  private writes = 0;
  private heldLocks: string[] = [];
  /** Without a session: how to undo the one write (the current document it replaced, if any). */
  private undoInfo: { key: string; historyId: string; vid: number; previous: VersionDoc | null } | undefined;

  constructor(
    private readonly store: MongoStore,
    private readonly session: ClientSession | undefined,
  ) {}

  async read(type: string, id: string): Promise<StoredVersion | undefined> {
    const d = await this.store.current.findOne({ _id: resourceKey(type, id) }, { session: this.session });
    return d ? new MongoVersion(d) : undefined;
  }

  find(query: FindQuery): Promise<StoredVersion[]> {
    return this.store.find(query, this.session);
  }

  async put(input: PutInput): Promise<StoredVersion> {
    if (!this.session && this.writes > 0) {
      throw FhirError.of(501, 'not-supported', `This database server (${this.store.server}) has no multi-document transactions: a transaction that writes several resources cannot be applied atomically, so it is refused. Run MongoDB as a replica set or sharded cluster, or send a batch.`);
    }
    this.writes++;
    const key = resourceKey(input.type, input.id);
    const opts = { session: this.session };
    // Without a session the whole current document is kept, to undo this write if the unit of work fails.
    const cur = await this.store.current.findOne({ _id: key }, this.session ? { ...opts, projection: { vid: 1 } } : {});
    const currentVid = cur?.vid ?? 0;
    if (input.expectVid !== undefined && input.expectVid !== currentVid) throw new VersionConflict(key, input.expectVid, currentVid);
    const lu = Date.now();
    // Without a transaction the unique history _id (Type/id/vid) is the lock: of the writers
    // based on one version, exactly one inserts the next. (Conditional updates are no
    // compare-and-swap on FerretDB 1.x: concurrent replaceOne calls with the same filter all
    // match.) A crash between the history insert and the current replace leaves a history
    // version above the current one; once it is older than the in-flight window it is taken
    // for such an orphan and the new version goes above it, instead of conflicting forever.
    let vid = currentVid + 1;
    if (this.session) vid = await this.nextFreeVid(input.type, input.id, vid);
    for (let attempt = 0; ; attempt++) {
      const res = input.resource ? stampResource(input.resource, input.id, vid, lu) : undefined;
      const doc: VersionDoc = { _id: key, type: input.type, id: input.id, vid, lu, deleted: !res };
      if (res) doc.res = res;
      // Numbers a double cannot hold as written (1.50, 1E-22) go in the text too: BSON keeps the value only.
      const txt = res && keptText(res);
      if (txt) doc.txt = txt;
      if (res && input.made) doc.m = input.made;
      const historyId = versionKey(input.type, input.id, vid);
      try {
        await this.store.historyColl.insertOne({ ...doc, _id: historyId }, opts);
      } catch (e) {
        if (!isDuplicateKey(e) || this.session) throw isDuplicateKey(e) ? new VersionConflict(key, currentVid, vid) : e;
        const taken = await this.store.historyColl.findOne({ _id: historyId }, { projection: { lu: 1 } });
        const orphan = taken !== null && Date.now() - taken.lu > ORPHAN_AFTER_MS;
        const now = (await this.store.current.findOne({ _id: key }, { projection: { vid: 1 } }))?.vid ?? 0;
        if (!orphan || now !== currentVid || attempt >= 20) throw new VersionConflict(key, currentVid, Math.max(now, vid));
        vid++;
        continue;
      }
      const current: VersionDoc = res ? { ...doc, idx: input.idx ?? {} } : doc;
      try {
        // A create inserts: one made meanwhile collides on _id (11000), which is the conflict. An
        // update replaces with the vid in the filter: a document that moved on matches nothing.
        // (Not one upsert for both: FerretDB 1.x scans the collection for any update's filter,
        // so every create cost a pass over all current documents; an insert is a key lookup.)
        if (currentVid === 0) await this.store.current.insertOne(current, opts);
        else if ((await this.store.current.replaceOne({ _id: key, vid: currentVid }, current, opts)).matchedCount === 0) throw new VersionConflict(key, currentVid, vid);
      } catch (e) {
        if (!this.session) await this.store.historyColl.deleteOne({ _id: historyId }).catch(() => undefined);
        if (isDuplicateKey(e)) throw new VersionConflict(key, currentVid, vid);
        throw e;
      }
      if (!this.session) this.undoInfo = { key, historyId, vid, previous: cur };
      return new MongoVersion(doc);
    }
  }

  /** Undoes the write of a unit of work without a session, unless another write came on top of it. */
  async undo(): Promise<void> {
    const u = this.undoInfo;
    if (!u) return;
    this.undoInfo = undefined;
    const restored = u.previous
      ? await this.store.current.replaceOne({ _id: u.key, vid: u.vid }, u.previous)
      : await this.store.current.deleteOne({ _id: u.key, vid: u.vid });
    if ('matchedCount' in restored ? restored.matchedCount : restored.deletedCount) await this.store.historyColl.deleteOne({ _id: u.historyId });
  }

  /** The first vid from `from` up that no history version holds (read in the transaction). */
  private async nextFreeVid(type: string, id: string, from: number): Promise<number> {
    let vid = from;
    while (await this.store.historyColl.findOne({ _id: versionKey(type, id, vid) }, { session: this.session, projection: { _id: 1 } })) vid++;
    return vid;
  }

  async lock(key: string): Promise<void> {
    if (this.session) {
      // Two transactions writing the same lock document conflict; the driver retries the loser,
      // which then sees the winner's resource.
      await this.store.locks.updateOne({ _id: key }, { $set: { until: new Date(Date.now() + LOCK_LEASE_MS) } }, { upsert: true, session: this.session });
      return;
    }
    const deadline = Date.now() + LOCK_LEASE_MS;
    for (;;) {
      try {
        await this.store.locks.insertOne({ _id: key, until: new Date(Date.now() + LOCK_LEASE_MS) });
        this.heldLocks.push(key);
        return;
      } catch (e) {
        if (!isDuplicateKey(e)) throw e;
        // A lease left by a crashed process expires.
        await this.store.locks.deleteOne({ _id: key, until: { $lt: new Date() } });
        if (Date.now() > deadline) throw FhirError.of(503, 'transient', 'Timed out waiting for a concurrent conditional operation on the same criteria');
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
      }
    }
  }

  async releaseLocks(): Promise<void> {
    if (this.heldLocks.length) await this.store.locks.deleteMany({ _id: { $in: this.heldLocks } });
    this.heldLocks = [];
  }
}
