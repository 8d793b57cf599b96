import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Query } from 'mingo';
import type {
  DistinctQuery,
  Filter,
  FindQuery,
  HistoryQuery,
  IndexValues,
  PutInput,
  ResourceStore,
  StoreCapabilities,
  StoredVersion,
  StoreTx,
} from '../port.js';
import { VersionConflict } from '../port.js';
import { Mutex } from '../mutex.js';
import { resourceKey, stampResource } from '../stamp.js';
import { stringifyJson } from '../../fhir/json-decimals.js';
import { claimDir } from './dir-lock.js';
import { beforeCommit, checkDeadline } from '../deadline.js';
import { CommitLog } from './commit-log.js';
import { indexRecord, logLineOf, madeOf, readLogLine, versionRecord } from './log-line.js';
import { EmbeddedVersion } from './version.js';
import { flat } from './flat-string.js';
import { Decision, HashIndexes, type Clause } from './hash-index.js';
import { Interner } from './interner.js';
import { sortByScalars } from './scalar-sort.js';
import { compileScalarFilter } from './scalar-filter.js';
import { compileElemFilter } from './elem-filter.js';
import { keysetBound } from './keyset-bound.js';
import { DecidedSets } from './decided-sets.js';
import { DistinctValues } from './distinct-values.js';
import { queryKey } from './query-key.js';

export interface EmbeddedStoreOptions {
  /** Folder holding the commit log; created when missing. */
  dataDir: string;
  /** Index specs (same as the MongoDB adapter creates) used to build hash indexes. */
  indexes?: ReadonlyArray<Record<string, 1 | -1>>;
  /**
   * Array fields of those specs (e.g. 'idx.ref') whose hash index is kept from the start, fed by
   * the replay at open and by every write, as MongoDB maintains its indexes; the others are built
   * on the first query that can use them (a pass over every live document then).
   */
  eagerHash?: ReadonlyArray<string>;
}

/**
 * The embedded store: every version in memory, durable through an fsync'd commit log, queried
 * with the same MongoDB filter documents as the MongoDB adapter (run by mingo). Transactions
 * are serialised by a mutex, so conditional operations cannot race; the fsync is shared by
 * the transactions that commit while one is in flight.
 */
export class EmbeddedStore implements ResourceStore {
  readonly capabilities: StoreCapabilities = { transactions: true, backend: 'embedded (commit log + in-memory, mingo queries)' };

  /** Latest version per "Type/id", deleted ones included. */
  private readonly latest = new Map<string, EmbeddedVersion>();
  /** Live (non-deleted) current versions by type, for scans. */
  private readonly live = new Map<string, Map<string, EmbeddedVersion>>();
  /** All versions of a resource, index vid - 1. */
  private readonly versions = new Map<string, EmbeddedVersion[]>();
  /** Every version in commit order (lu increasing), and the same per type. */
  private readonly timeline: EmbeddedVersion[] = [];
  private readonly typeTimeline = new Map<string, EmbeddedVersion[]>();
  private readonly hash: HashIndexes<EmbeddedVersion>;
  /** Shared copies of the strings index values repeat (see interner.ts). */
  readonly interner = new Interner();
  private readonly mutex = new Mutex();
  private log: CommitLog | undefined;
  readonly notes: string[] = [];
  /** Gives up the claim on the data folder (dir-lock.ts). */
  private unclaim: (() => Promise<void>) | undefined;
  private lastLu = 0;
  /** Slots handed out (one per resource ever written: see Member.slot). */
  private slots = 0;

  constructor(private readonly opts: EmbeddedStoreOptions) {
    this.hash = new HashIndexes(opts.indexes ?? [], () => this.liveVersions(), (key) => this.liveVersion(key), opts.eagerHash);
  }

  private *liveVersions(): Iterable<EmbeddedVersion> {
    for (const byId of this.live.values()) yield* byId.values();
  }

  async init(): Promise<void> {
    // Every version of every resource is here: readable by this user only, as the audit trail is.
    mkdirSync(this.opts.dataDir, { recursive: true, mode: 0o700 });
    this.unclaim = await claimDir(this.opts.dataDir, (m) => this.notes.push(m));
    const path = join(this.opts.dataDir, 'commits.log');
    try {
      const { log, cut } = await CommitLog.open(path, (line) => {
        for (const r of readLogLine(line)) {
          if (r.ix) {
            this.applyIndex(r.t, r.i, r.v, this.interner.index(r.ix));
            continue;
          }
          this.apply(new EmbeddedVersion(r.t, r.i, r.v, r.l, r.json, this.interner.index(r.x ?? {}), madeOf(r.m)));
        }
      });
      this.log = log;
      if (cut > 0) this.notes.push(`commit log ${path}: an unterminated last line of ${cut} bytes (a write cut short by a crash, never acknowledged) was cut off`);
    } catch (e) {
      await this.unclaim();
      throw e;
    }
  }

  async close(): Promise<void> {
    const release = await this.mutex.acquire();
    try {
      await this.log?.close();
      this.log = undefined;
      await this.unclaim?.();
      this.unclaim = undefined;
    } finally {
      release();
    }
  }

  async ping(): Promise<void> {
    if (!this.log) throw new Error('embedded store is not open');
    if (this.log.failed) throw this.log.failed;
  }

  /** Makes a version visible (commit or replay). */
  private apply(v: EmbeddedVersion): void {
    this.bump(v.type);
    const key = v.key;
    const prev = this.latest.get(key);
    // Every version of a resource has its slot; new resources take the next one.
    v.slot = prev ? prev.slot : this.slots++;
    if (prev && !prev.deleted) {
      this.hash.update(prev, false);
      prev.supersede();
    }
    this.latest.set(key, v);
    let byId = this.live.get(v.type);
    if (!byId) this.live.set(v.type, (byId = new Map()));
    if (v.deleted) byId.delete(v.id);
    else {
      byId.set(v.id, v);
      this.hash.update(v, true);
    }
    let list = this.versions.get(key);
    if (!list) this.versions.set(key, (list = []));
    list.push(v);
    this.timeline.push(v);
    let typeList = this.typeTimeline.get(v.type);
    if (!typeList) this.typeTimeline.set(v.type, (typeList = []));
    typeList.push(v);
    if (v.lu > this.lastLu) this.lastLu = v.lu;
  }

  /** Swaps the index values of the latest version when it is still `vid`; true when it did. */
  private applyIndex(type: string, id: string, vid: number, idx: IndexValues): boolean {
    const key = resourceKey(type, id);
    const v = this.latest.get(key);
    if (!v || v.vid !== vid || v.deleted) return false;
    this.bump(type);
    this.hash.update(v, false);
    v.doc.idx = idx;
    this.hash.update(v, true);
    return true;
  }

  async setIndex(type: string, id: string, vid: number, idx: IndexValues): Promise<boolean> {
    const release = await this.mutex.acquire();
    const log = this.log;
    let done: boolean;
    let appended: Promise<void> | undefined;
    try {
      if (!log) throw new Error('embedded store is not open');
      if (log.failed) throw log.failed;
      done = this.applyIndex(type, id, vid, this.interner.index(idx));
      // Queued before another request can see the change (see settledWith).
      if (done) appended = log.append(logLineOf([indexRecord(type, id, vid, idx)]));
    } finally {
      release();
    }
    await appended;
    return done;
  }

  /**
   * A commit is visible once its line is queued, before it is durable (writers then share one
   * fsync). So that no answer rests on what a crash could still take back, everything read waits
   * until what was visible is durable; with nothing in flight, that costs one comparison. After a
   * failed write nothing is answered: what is in memory is not what is on disk.
   */
  private settledWith<T>(value: T): T | Promise<T> {
    const log = this.log;
    return log?.unsettled ? log.settled().then(() => value) : value;
  }

  async read(type: string, id: string): Promise<StoredVersion | undefined> {
    return this.settledWith(this.latest.get(resourceKey(type, id)));
  }

  async readVersion(type: string, id: string, vid: number): Promise<StoredVersion | undefined> {
    return this.settledWith(this.versions.get(resourceKey(type, id))?.[vid - 1]);
  }

  async readMany(keys: readonly string[]): Promise<StoredVersion[]> {
    const out: StoredVersion[] = [];
    for (const k of keys) {
      const v = this.latest.get(k);
      if (v && !v.deleted) out.push(v);
    }
    return this.settledWith(out);
  }

  /**
   * The last matching() answer, reused while nothing was committed: a search counts and then
   * fetches the first page with the same filter.
   */
  private lastMatch: { key: string; epoch: number; rows: EmbeddedVersion[] } | undefined;
  private commits = 0;

  /** Matching live versions, before sort/skip/limit. */
  private matching(types: readonly string[], filter: Filter, overlay?: Map<string, EmbeddedVersion>): EmbeddedVersion[] {
    if (overlay) return this.matchingNow(types, filter, overlay);
    const key = filterKey(types, filter);
    const last = this.lastMatch;
    const epoch = this.epochOf(types);
    if (last && last.key === key && last.epoch === epoch) return last.rows.slice();
    const rows = this.matchingNow(types, filter);
    this.lastMatch = { key, epoch, rows };
    return rows.slice();
  }

  /** Commits per resource type: a query's memo stays valid while none of its types changed. */
  private readonly typeCommits = new Map<string, number>();

  private liveVersion(key: string): EmbeddedVersion | undefined {
    const v = this.latest.get(key);
    return v && !v.deleted ? v : undefined;
  }

  private epochOf(types: readonly string[]): number {
    if (types.length === 0) return this.commits;
    let n = 0;
    for (const t of types) n += this.typeCommits.get(t) ?? 0;
    return n;
  }

  private bump(type: string): void {
    this.commits++;
    this.typeCommits.set(type, (this.typeCommits.get(type) ?? 0) + 1);
  }

  private readonly decidedSets = new DecidedSets<Decided, EmbeddedVersion>(
    (types) => this.epochOf(types),
    decidedKey,
    (types, d) => {
      const all = types.length > 0 ? types : [...this.live.keys()];
      // No condition (a whole type, paged): every live resource of the types.
      if (d === ALL) return { keep: true, run: () => new Set(all.flatMap((t) => [...(this.live.get(t)?.values() ?? [])])) };
      const planned = this.hash.planExact(all, d);
      return planned ? { keep: planned.walked >= KEEP_FROM, run: planned.run } : { keep: false, run: () => undefined };
    },
  );

  /**
   * A filter as what the hash indexes decide (`decided`: ALL when they decide none of it) plus
   * the residual clauses, compiled to a predicate on the search document: a plain one (`scalar`)
   * for the top-level fields (a paging cursor's keyset), else mingo. `bound` is set when the
   * residual is exactly a cursor keyset over (type, id). Without a residual, `decided` is the
   * whole filter.
   */
  private splitFilter(
    filter: Filter,
  ): { decided: Decided; residual?: (doc: EmbeddedVersion['doc']) => boolean; scalar?: boolean; bound?: { key: string; after: boolean } } {
    if (Object.keys(filter).length === 0) return { decided: ALL };
    // The usual case first: the indexes decide the whole filter (one question instead of one per clause).
    const whole = this.hash.decision(filter);
    if (whole) return { decided: whole };
    // Else each clause of the conjunction is read once: what is decided, and the rest.
    const clauses = Object.keys(filter).length === 1 && Array.isArray(filter.$and) ? (filter.$and as Filter[]) : [filter];
    const read: Clause[] = [];
    const rest: Filter[] = [];
    for (const c of clauses) {
      if (Object.keys(c).length === 0) continue; // matches every document
      const cs = this.hash.clausesOf(c);
      if (cs) read.push(...cs);
      else rest.push(c);
    }
    const decided = read.length > 0 ? new Decision(read) : ALL;
    if (rest.length === 0) return { decided };
    const r = rest.length === 1 ? rest[0] : { $and: rest };
    const plain = compileScalarFilter(r);
    const residual = plain ?? mingoBacked(r);
    const bound = rest.length === 1 ? keysetBound(rest[0]) : undefined;
    return { decided, residual, scalar: plain !== undefined, bound };
  }

  /** Asked of the memo only when decided (or empty): an undecided filter would push out a decided one's set. */
  private decidedOf(types: readonly string[], d: Decided | undefined): ReadonlySet<EmbeddedVersion> | undefined {
    return d === undefined ? undefined : this.decidedSets.found(types, d);
  }

  private matchingNow(types: readonly string[], filter: Filter, overlay?: Map<string, EmbeddedVersion>): EmbeddedVersion[] {
    const allTypes = types.length > 0 ? types : [...this.live.keys()];
    const out: EmbeddedVersion[] = [];
    /** The whole filter's test, for the scan below: the compiled one wherever its values are plain, mingo elsewhere. */
    let test: ((doc: EmbeddedVersion['doc']) => boolean) | undefined;
    if (!overlay) {
      // What the hash indexes decide (e.g. patient + status) needs no filter evaluation; of an $and
      // they partly decide (e.g. a token plus a date range) only the other clauses are evaluated,
      // on that set.
      const { decided, residual } = this.splitFilter(filter);
      // With a residual, an empty base would be every resource of the types tested by mingo: left to the scan below.
      // The decided versions are live and current: the buckets hold nothing else.
      const decidedVersions = this.decidedOf(types, residual && decided === ALL ? undefined : decided);
      if (decidedVersions) {
        for (const v of decidedVersions) if (!residual || residual(v.doc)) out.push(v);
        return out;
      }
      // Nothing decided: the residual is the whole filter, already compiled.
      if (decided === ALL) test = residual;
    }
    test ??= mingoBacked(filter);
    const candidates = this.hash.candidates(allTypes, filter);
    let seen = 0;
    const consider = (v: EmbeddedVersion | undefined) => {
      // A scan never yields the event loop: the request's deadline is looked at as it goes (deadline.ts).
      if ((++seen & 255) === 0) checkDeadline();
      if (!v || v.deleted) return;
      if (overlay?.has(v.key)) return; // the transaction's own version replaces it
      if (test(v.doc)) out.push(v);
    };
    if (candidates) {
      const typeSet = new Set(allTypes);
      for (const v of candidates) if (typeSet.has(v.type)) consider(v);
    } else {
      for (const t of allTypes) {
        const byId = this.live.get(t);
        if (byId) for (const v of byId.values()) consider(v);
      }
    }
    if (overlay) {
      const typeSet = new Set(allTypes);
      for (const v of overlay.values()) if (!v.deleted && typeSet.has(v.type) && test(v.doc)) out.push(v);
    }
    return out;
  }

  private findIn(q: FindQuery, overlay?: Map<string, EmbeddedVersion>): EmbeddedVersion[] {
    const order = defaultOrder(q.sort);
    if (!overlay && order !== undefined && q.limit !== undefined) {
      // A page in the default (type, id) order whose filter the indexes decide (or that has none),
      // plus perhaps a cursor's keyset: chosen from the keys in order, and only the page's
      // versions are looked up. Paging through a whole type no longer tests every version per page.
      const split = this.splitFilter(q.filter);
      // Walking every resource of the types with mingo per key would be a scan: left to matching().
      const scan = split.decided === ALL && split.residual !== undefined && !split.scalar;
      const residual = split.residual;
      const accept = residual ? (v: EmbeddedVersion) => residual(v.doc) : undefined;
      // The bound goes with the order it was made for (after ascending, before descending).
      const bound = split.bound && split.bound.after === (order === 1) ? split.bound : undefined;
      const d = scan ? undefined : split.decided;
      const page = d === undefined ? undefined : this.decidedSets.page(q.types, d, q.skip ?? 0, q.limit, order === -1, accept, bound);
      if (page) return page;
    }
    const rows = this.matching(q.types, q.filter, overlay);
    if (!q.sort?.length && q.skip === undefined && q.limit === undefined) return rows;
    const upTo = q.limit === undefined ? Infinity : (q.skip ?? 0) + q.limit;
    const fast = q.sort?.length ? sortByScalars(rows, q.sort, upTo) : rows;
    if (fast) return fast.slice(q.skip ?? 0, upTo);
    const byDoc = new Map(rows.map((r) => [r.doc, r] as const));
    let cursor = new Query({}).find(rows.map((r) => r.doc));
    if (q.sort?.length) cursor = cursor.sort(Object.fromEntries(q.sort.map(([f, d]) => [f, d])));
    if (q.skip) cursor = cursor.skip(q.skip);
    if (q.limit !== undefined) cursor = cursor.limit(q.limit);
    return cursor.all().map((d) => byDoc.get(d as EmbeddedVersion['doc'])!);
  }

  async find(q: FindQuery): Promise<StoredVersion[]> {
    checkDeadline();
    return this.settledWith(this.findIn(q));
  }

  async count(types: readonly string[], filter: Filter): Promise<number> {
    checkDeadline();
    // A filter the hash indexes decide whole (e.g. patient + status) is counted without touching a version.
    const { decided, residual } = this.splitFilter(filter);
    return this.settledWith(residual ? this.matching(types, filter).length : this.decidedOf(types, decided)!.size);
  }

  private readonly distinctValues = new DistinctValues({ commits: () => this.commits, matching: (types, filter) => this.matching(types, filter) });

  async distinct(q: DistinctQuery): Promise<string[]> {
    return this.settledWith(this.distinctValues.values(q));
  }

  /**
   * The versions a history query ranges over, as [start, end) of a list in lu order. Every
   * version has its own lastUpdated (nextLu), and the lists are appended in commit order, so
   * bounds are binary searches and a page is a slice: no scan of the whole history.
   */
  private historyRange(q: Omit<HistoryQuery, 'limit'>): { list: EmbeddedVersion[]; start: number; end: number } {
    const list =
      q.type && q.id ? (this.versions.get(resourceKey(q.type, q.id)) ?? []) : q.type ? (this.typeTimeline.get(q.type) ?? []) : this.timeline;
    const firstAtOrAfter = (lu: number) => {
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (list[mid].lu < lu) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    const start = q.since === undefined ? 0 : firstAtOrAfter(q.since);
    let end = q.before === undefined ? list.length : firstAtOrAfter(q.before + 1);
    if (q.after) end = Math.min(end, firstAtOrAfter(q.after.lu));
    return { list, start, end: Math.max(start, end) };
  }

  async history(q: HistoryQuery): Promise<StoredVersion[]> {
    const { list, start, end } = this.historyRange(q);
    return this.settledWith(list.slice(Math.max(start, end - q.limit), end).reverse());
  }

  async countHistory(q: Omit<HistoryQuery, 'limit' | 'after'>): Promise<number> {
    const { start, end } = this.historyRange(q);
    return this.settledWith(end - start);
  }

  async transact<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    const release = await this.mutex.acquire();
    let durable: Promise<void>;
    let result: T;
    try {
      const log = this.log;
      if (!log) throw new Error('embedded store is not open');
      if (log.failed) throw log.failed;
      const tx = new EmbeddedTx(this);
      result = await beforeCommit(() => fn(tx));
      if (tx.staged.length > 0) {
        const line = logLineOf(tx.staged.map((v) => versionRecord(v, v.doc.idx)));
        for (const v of tx.staged) this.apply(v);
        // Visible now, and queued before the lock is released, so lines keep commit order.
        durable = log.append(line);
      } else {
        // It wrote nothing, but what it read (a conditional create's match, an unchanged
        // update's version) may be another commit still on its way to disk.
        durable = log.settled();
      }
    } finally {
      release();
    }
    // Acknowledged only once durable. A failed sync poisons the log (see CommitLog).
    await durable;
    return result;
  }

  /** Strictly increasing lastUpdated, so versions of one resource never share an instant. */
  nextLu(): number {
    const now = Date.now();
    this.lastLu = now > this.lastLu ? now : this.lastLu + 1;
    return this.lastLu;
  }

  /** @internal for EmbeddedTx */
  latestOf(key: string): EmbeddedVersion | undefined {
    return this.latest.get(key);
  }

  /** @internal for EmbeddedTx */
  findWithOverlay(q: FindQuery, overlay: Map<string, EmbeddedVersion>): EmbeddedVersion[] {
    return this.findIn(q, overlay);
  }
}

class EmbeddedTx implements StoreTx {
  readonly staged: EmbeddedVersion[] = [];
  private readonly overlay = new Map<string, EmbeddedVersion>();

  constructor(private readonly store: EmbeddedStore) {}

  async read(type: string, id: string): Promise<StoredVersion | undefined> {
    const key = resourceKey(type, id);
    return this.overlay.get(key) ?? this.store.latestOf(key);
  }

  async find(query: FindQuery): Promise<StoredVersion[]> {
    checkDeadline();
    return this.store.findWithOverlay(query, this.overlay);
  }

  async put(input: PutInput): Promise<StoredVersion> {
    const key = resourceKey(input.type, input.id);
    const current = this.overlay.get(key) ?? this.store.latestOf(key);
    const currentVid = current?.vid ?? 0;
    if (input.expectVid !== undefined && input.expectVid !== currentVid) {
      throw new VersionConflict(key, input.expectVid, currentVid);
    }
    const vid = currentVid + 1;
    const lu = this.store.nextLu();
    // Flat once at write time: JSON.stringify returns longer texts as ropes (flat-string.ts).
    const json = input.resource ? flat(stringifyJson(stampResource(input.resource, input.id, vid, lu))) : undefined;
    const v = new EmbeddedVersion(input.type, input.id, vid, lu, json, input.resource ? this.store.interner.index(input.idx ?? {}) : {}, input.resource ? input.made : undefined);
    this.overlay.set(key, v);
    this.staged.push(v);
    return v;
  }

  async lock(): Promise<void> {
    // Transactions are already serialised by the store's mutex.
  }
}

/** A filter's test: a plain predicate where it decides (elem-filter.ts), mingo where it cannot. */
function mingoBacked(filter: Filter): (doc: EmbeddedVersion['doc']) => boolean {
  const query = new Query(filter);
  const fast = compileElemFilter(filter);
  if (!fast) return (d) => query.test(d);
  return (d) => fast(d) ?? query.test(d);
}

/** Members walked below which a decided set is computed again rather than kept in the memo (a patient's resources: tens). */
const KEEP_FROM = 256;

/** What the hash indexes decide of a filter: a Decision, or ALL for no condition (every resource of the types). */
const ALL = 'all';
type Decided = Decision | typeof ALL;

/** Memo key of a decided set: the types and the decision's own key. */
function decidedKey(types: readonly string[], d: Decided): string {
  // One flat string: the memo keeps it (see decisionKey).
  return [JSON.stringify(types), d === ALL ? '*' : d.key].join('#');
}

/** Memo key of a query (RegExp values included: see query-key.ts). */
function filterKey(types: readonly string[], filter: Filter): string {
  return queryKey([types, filter]);
}

/** 1 or -1 when the sort is (type, id) in one direction — the order of "Type/id" keys; else undefined. */
function defaultOrder(sort: FindQuery['sort']): 1 | -1 | undefined {
  if (sort?.length !== 2 || sort[0][0] !== 'type' || sort[1][0] !== 'id' || sort[0][1] !== sort[1][1]) return undefined;
  return sort[0][1];
}
