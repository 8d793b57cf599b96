import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Query } from 'mingo';
import type { Bundle, Resource } from 'fhir/r4.js';
import type { FindQuery, ResourceStore, StoredVersion, Filter } from '../../src/store/port.js';
import type { SearchEngine } from '../../src/search/engine.js';

/**
 * A tiny in-memory stand-in for the store port (find/count/readMany), running the engine's
 * MongoDB filter documents through mingo, as the embedded adapter does.
 */
interface Doc {
  type: string;
  id: string;
  vid: number;
  lu: number;
  idx: Record<string, unknown>;
}

export class MemoryStore {
  private readonly docs = new Map<string, { doc: Doc; v: StoredVersion }>();
  private clock = Date.UTC(2024, 0, 1);
  queries: FindQuery[] = [];

  constructor(private readonly engine: SearchEngine) {}

  put(resource: Resource, lu?: number): StoredVersion {
    const type = resource.resourceType;
    const id = resource.id!;
    const key = `${type}/${id}`;
    const prev = this.docs.get(key);
    const vid = (prev?.v.vid ?? 0) + 1;
    const when = lu ?? (this.clock += 1000);
    const stored = { ...resource, meta: { ...(resource.meta ?? {}), versionId: String(vid), lastUpdated: new Date(when).toISOString() } } as Resource;
    const v: StoredVersion = { type, id, vid, lu: when, deleted: false, resource: stored, json: JSON.stringify(stored) };
    this.docs.set(key, { doc: { type, id, vid, lu: when, idx: this.engine.extractIndex(stored) as Record<string, unknown> }, v });
    return v;
  }

  delete(type: string, id: string): void {
    this.docs.delete(`${type}/${id}`);
  }

  private matching(types: readonly string[], filter: Filter): Array<{ doc: Doc; v: StoredVersion }> {
    const q = new Query(filter);
    const set = new Set(types);
    return [...this.docs.values()].filter((r) => (set.size === 0 || set.has(r.doc.type)) && q.test(r.doc as unknown as Record<string, unknown>));
  }

  async find(query: FindQuery): Promise<StoredVersion[]> {
    this.queries.push(query);
    const rows = this.matching(query.types, query.filter);
    const byDoc = new Map(rows.map((r) => [r.doc, r.v] as const));
    let cursor = new Query({}).find(rows.map((r) => r.doc));
    if (query.sort?.length) cursor = cursor.sort(Object.fromEntries(query.sort.map(([f, d]) => [f, d])));
    if (query.skip) cursor = cursor.skip(query.skip);
    if (query.limit !== undefined) cursor = cursor.limit(query.limit);
    return cursor.all().map((d) => byDoc.get(d as Doc)!);
  }

  async count(types: readonly string[], filter: Filter): Promise<number> {
    return this.matching(types, filter).length;
  }

  async readMany(keys: readonly string[]): Promise<StoredVersion[]> {
    return keys.flatMap((k) => (this.docs.has(k) ? [this.docs.get(k)!.v] : []));
  }

  /** The subset of the port the engine uses, typed as the port. */
  asStore(): ResourceStore {
    return this as unknown as ResourceStore;
  }
}

/** Shared test data folder, or undefined (the caller skips) when it is absent. */
export { testDataDir } from '../validation/test-data.js';

/** Rewrites `urn:uuid:<id>` references to `Type/id` (in Synthea the uuid is the resource id). */
function rewriteRefs(node: unknown, types: Map<string, string>): void {
  if (Array.isArray(node)) for (const n of node) rewriteRefs(n, types);
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    for (const [k, v] of Object.entries(o)) {
      if (k === 'reference' && typeof v === 'string' && v.startsWith('urn:uuid:')) {
        const id = v.slice(9);
        const t = types.get(id);
        if (t) o[k] = `${t}/${id}`;
      } else rewriteRefs(v, types);
    }
  }
}

export function loadSyntheaBundles(dir: string): Resource[] {
  const out: Resource[] = [];
  for (const set of ['synthea', 'synthea-2']) {
    const bdir = join(dir, set, 'bundles');
    if (!existsSync(bdir)) continue;
    for (const f of readdirSync(bdir).filter((x) => x.endsWith('.json')).sort()) {
      const b = JSON.parse(readFileSync(join(bdir, f), 'utf8')) as Bundle;
      const resources = (b.entry ?? []).map((e) => e.resource!).filter(Boolean);
      const types = new Map(resources.map((r) => [r.id!, r.resourceType]));
      for (const r of resources) {
        rewriteRefs(r, types);
        out.push(r);
      }
    }
  }
  return out;
}

export function loadR4Examples(dir: string): Resource[] {
  const edir = join(dir, 'r4-examples');
  return readdirSync(edir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(edir, f), 'utf8')) as Resource);
}

/** Ids of the match entries of a searchset, sorted. */
export function matchIds(b: Bundle): string[] {
  return (b.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => `${e.resource!.resourceType}/${e.resource!.id}`).sort();
}
