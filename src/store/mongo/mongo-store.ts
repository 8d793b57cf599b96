import { MongoClient, MongoServerError, type ClientSession, type Collection, type Db, type Document } from 'mongodb';
import type { Filter, FindQuery, HistoryQuery, PutInput, ResourceStore, StoreCapabilities, StoredVersion, StoreTx } from '../port.js';
import { VersionConflict } from '../port.js';
import { resourceKey, stampResource, versionKey } from '../stamp.js';
import { MongoVersion, type VersionDoc } from './mongo-version.js';
import { FhirError } from '../../fhir/errors.js';

export interface MongoStoreOptions {
  uri: string;
  dbName: string;
  /** Index specs on the current-version documents (from the search engine). */
  indexes: ReadonlyArray<Record<string, 1 | -1>>;
}

const DUPLICATE_KEY = 11000;
const LOCK_LEASE_MS = 30_000;

/**
 * MongoDB adapter, kept thin: current versions in `resources` (deletions as tombstones),
 * every version in `history`, conditional-operation locks in `locks`. Transactions need a
 * replica set or sharded cluster; without one, single-resource writes stay safe (unique
 * version keys) and multi-resource transactions are refused rather than half-applied.
 */
export class MongoStore implements ResourceStore {
  capabilities: StoreCapabilities = { transactions: false, backend: 'mongodb' };
  private client: MongoClient;
  private db!: Db;
  current!: Collection<VersionDoc>;
  historyColl!: Collection<VersionDoc>;
  locks!: Collection<{ _id: string; until: Date }>;

  constructor(private readonly opts: MongoStoreOptions) {
    this.client = new MongoClient(opts.uri, { writeConcern: { w: 'majority', journal: true }, retryWrites: true, appName: 'ccm-fhir-server' });
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
    const transactions = replicated && (await this.probeTransactions());
    const flavour = build.ferretdbVersion ? `FerretDB ${String(build.ferretdbVersion)}` : `MongoDB ${String(build.version)}`;
    this.capabilities = { transactions, backend: `mongodb (${flavour}${transactions ? ', transactions' : ', no multi-document transactions'})` };
    await this.current.createIndex({ type: 1, lu: -1 });
    for (const spec of this.opts.indexes) await this.current.createIndex(spec);
    await this.historyColl.createIndex({ type: 1, id: 1, vid: -1 });
    await this.historyColl.createIndex({ lu: -1, _id: -1 });
    await this.historyColl.createIndex({ type: 1, lu: -1, _id: -1 });
    await this.locks.createIndex({ until: 1 }, { expireAfterSeconds: 0 }).catch(() => undefined);
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
    let cursor = this.current.find(this.liveFilter(q.types, q.filter), { session });
    if (q.sort?.length) cursor = cursor.sort(q.sort.map(([f, d]) => [f, d] as [string, 1 | -1]));
    if (q.skip) cursor = cursor.skip(q.skip);
    if (q.limit !== undefined) cursor = cursor.limit(q.limit);
    return (await cursor.toArray()).map((d) => new MongoVersion(d));
  }

  async count(types: readonly string[], filter: Filter): Promise<number> {
    return this.current.countDocuments(this.liveFilter(types, filter));
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
      throw FhirError.of(501, 'not-supported', 'This MongoDB deployment has no multi-document transactions (it is not a replica set): a transaction that writes several resources cannot be applied atomically, so it is refused. Run MongoDB as a replica set.');
    }
    this.writes++;
    const key = resourceKey(input.type, input.id);
    const cur = await this.store.current.findOne({ _id: key }, { session: this.session, projection: { vid: 1 } });
    const currentVid = cur?.vid ?? 0;
    if (input.expectVid !== undefined && input.expectVid !== currentVid) throw new VersionConflict(key, input.expectVid, currentVid);
    const vid = currentVid + 1;
    const lu = Date.now();
    const res = input.resource ? stampResource(input.resource, input.id, vid, lu) : undefined;
    const doc: VersionDoc = { _id: key, type: input.type, id: input.id, vid, lu, deleted: !res };
    if (res) doc.res = res;
    try {
      // The history insert's unique _id is the optimistic lock when there is no transaction.
      await this.store.historyColl.insertOne({ ...doc, _id: versionKey(input.type, input.id, vid) }, { session: this.session });
      const current: VersionDoc = res ? { ...doc, idx: input.idx ?? {} } : doc;
      await this.store.current.replaceOne({ _id: key }, current, { upsert: true, session: this.session });
    } catch (e) {
      if (e instanceof MongoServerError && e.code === DUPLICATE_KEY) throw new VersionConflict(key, currentVid, vid);
      throw e;
    }
    return new MongoVersion(doc);
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
        if (!(e instanceof MongoServerError && e.code === DUPLICATE_KEY)) throw e;
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
