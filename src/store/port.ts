import type { Resource } from 'fhir/r4.js';

/**
 * The store port. Both adapters (embedded, MongoDB) implement it and pass one conformance
 * suite (test/store/). Queries are MongoDB query documents over the "search document" of a
 * resource's current version:
 *
 *   { type, id, vid, lu, idx: { ...index values written by search/extract } }
 *
 * where `lu` is lastUpdated in epoch milliseconds. Deleted resources are never returned by
 * `find`/`count`.
 */

/** MongoDB filter document (plain data: no functions, no $where). */
export type Filter = Record<string, unknown>;
/** Sort keys in order, 1 ascending or -1 descending. */
export type Sort = ReadonlyArray<readonly [field: string, direction: 1 | -1]>;

/** Index values extracted from a resource at write time; stored beside it under `idx`. */
export type IndexValues = Record<string, unknown>;

export interface VersionMeta {
  type: string;
  id: string;
  /** 1, 2, 3, ... */
  vid: number;
  /** lastUpdated, epoch ms. */
  lu: number;
  deleted: boolean;
  /** How the version was made, where its number does not tell (see Made). */
  made?: Made;
}

/**
 * How a version was made, recorded where history could not tell it from the version number: 'PUT'
 * for a version 1 made by PUT (update as create; otherwise POST), 'PATCH' for a later one made by
 * PATCH (otherwise PUT). A deletion records nothing.
 */
export type Made = 'PUT' | 'PATCH';

/** One stored version: metadata plus the resource, as an object and as JSON, each made on demand. */
export interface StoredVersion extends VersionMeta {
  /** The resource with meta.versionId / meta.lastUpdated set; undefined when deleted. */
  readonly resource: Resource | undefined;
  /** The same resource serialised as JSON (no whitespace); undefined when deleted. */
  readonly json: string | undefined;
  /** Its search index values, where the store holds them at hand (the embedded store): read without parsing the resource. */
  readonly idx?: IndexValues;
  /**
   * True when the store checked, as it made this version, that `type` is letters only and `id`
   * a FHIR id: a search page then splices them into its JSON without checking them again.
   */
  readonly plainKey?: boolean;
}

export interface FindQuery {
  /** Resource types to search; empty = all types. */
  types: readonly string[];
  filter: Filter;
  sort?: Sort;
  limit?: number;
  /** Number of matches to skip; prefer keyset filters for paging. */
  skip?: number;
}

/**
 * Distinct values of one field of the index elements of matching resources, e.g. the patients
 * the care-management time entries point to: `field: 'idx.ref', where: { p: 'subject' },
 * key: 'r', prefix: 'Patient/'`. Answered from index values, without reading resources; ordered
 * and paged by value so that a pass over all values costs one page at a time.
 */
export interface DistinctQuery {
  /** Resource types to look at; empty = all types. */
  types: readonly string[];
  /** Which resources (current, non-deleted versions), as for find. */
  filter: Filter;
  /** Array of index elements in the search document, e.g. 'idx.ref'. */
  field: string;
  /** Only elements whose fields equal these, e.g. { p: 'subject' }. */
  where?: Readonly<Record<string, string>>;
  /** The element field whose (string) values are returned, e.g. 'r'. */
  key: string;
  /** Only values that start with this, e.g. 'Patient/'. */
  prefix?: string;
  /** Only values after this one (the last value of the previous page). */
  after?: string;
  /** Most values returned. */
  limit: number;
}

export interface HistoryQuery {
  type?: string;
  id?: string;
  /** Only versions with lu >= since (ms). */
  since?: number;
  /** Only versions with lu <= at (ms): `_at` semantics are handled by the caller. */
  before?: number;
  /** Continue after this sequence cursor (from a previous page). */
  after?: HistoryCursor;
  limit: number;
}

/** Position in the newest-first history order. */
export interface HistoryCursor {
  lu: number;
  key: string;
}

export interface PutInput {
  type: string;
  id: string;
  /** The new content; undefined writes a deletion (tombstone). */
  resource?: Resource;
  /** Index values of the new content (ignored for deletions). */
  idx?: IndexValues;
  /**
   * Optimistic concurrency: the current vid the caller based this write on (a deletion
   * tombstone counts as a version; 0 = the resource must not exist at all). Undefined = no check.
   */
  expectVid?: number;
  /** How the write makes the version (see Made), recorded for history. */
  made?: Made;
}

/** A unit of work. Reads see the transaction's own writes. */
export interface StoreTx {
  read(type: string, id: string): Promise<StoredVersion | undefined>;
  find(query: FindQuery): Promise<StoredVersion[]>;
  /** Stages a new version; vid and lastUpdated are assigned here and written into resource.meta. */
  put(input: PutInput): Promise<StoredVersion>;
  /**
   * Serialises transactions that hold the same key (e.g. a normalised conditional-create query),
   * so that "search then create" cannot race. Held until the transaction ends.
   */
  lock(key: string): Promise<void>;
  /**
   * Reads are narrowed by an access policy (auth/guarded-store.ts): a resource read() does not
   * return may exist, hidden from this token. Absent = reads see everything.
   */
  readonly narrowed?: boolean;
}

export interface StoreCapabilities {
  /** Multi-resource atomic transactions. */
  transactions: boolean;
  /**
   * The backend answers `$elemMatch` over arrays of subdocuments correctly. When false (FerretDB
   * 1.x) the adapter sends a relaxed superset filter and applies the exact one in-process.
   * Undefined = true.
   */
  elemMatch?: boolean;
  /** TTL indexes could be created (expired conditional-operation leases are also removed on contention). */
  ttlIndexes?: boolean;
  /** Human description of the backend, for logs and the README. */
  backend: string;
}

export interface ResourceStore {
  readonly capabilities: StoreCapabilities;
  /** Open files or connections, create indexes. */
  init(): Promise<void>;
  /** What opening found and repaired, for the operator's log (no patient data). */
  readonly notes?: readonly string[];
  close(): Promise<void>;
  /** Throws when the store is not reachable. */
  ping(): Promise<void>;

  read(type: string, id: string): Promise<StoredVersion | undefined>;
  readVersion(type: string, id: string, vid: number): Promise<StoredVersion | undefined>;
  /** Current, non-deleted versions by "Type/id" keys; missing ones are left out. */
  readMany(keys: readonly string[]): Promise<StoredVersion[]>;
  find(query: FindQuery): Promise<StoredVersion[]>;
  count(types: readonly string[], filter: Filter): Promise<number>;
  /** Distinct index element values, ascending by code unit (ids and references are ASCII), at most `limit`. */
  distinct(query: DistinctQuery): Promise<string[]>;
  /** Versions newest first. */
  history(query: HistoryQuery): Promise<StoredVersion[]>;
  countHistory(query: Omit<HistoryQuery, 'limit' | 'after'>): Promise<number>;

  /**
   * Replaces the index values of the current version, when it is still version `vid` and not
   * deleted (for reindexing after search parameters changed: no new version is written).
   * Returns false when the resource moved on; its newer version carries fresh values anyway.
   */
  setIndex(type: string, id: string, vid: number, idx: IndexValues): Promise<boolean>;

  /**
   * Runs fn as one atomic unit: all its puts become visible and durable together, or none.
   * fn may be retried on a write conflict, so it must not have side effects outside tx.
   * The returned promise settles after the writes are durable.
   */
  transact<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
}

/** Thrown by put when expectVid does not match the current version. */
export class VersionConflict extends Error {
  constructor(
    readonly key: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`version conflict on ${key}: expected ${expected}, found ${actual}`);
    this.name = 'VersionConflict';
  }
}
