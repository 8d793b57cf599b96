import type { Resource } from 'fhir/r4.js';
import type { IndexValues, Made, StoredVersion } from '../port.js';
import { isPlainKey } from '../../fhir/raw-json.js';
import { resourceKey } from '../stamp.js';

/**
 * One version held by the embedded store. The resource is kept as its JSON text (compact in
 * memory and sent as-is on reads); the object is parsed on demand and never shared, so callers
 * may modify what they get.
 */
export class EmbeddedVersion implements StoredVersion {
  /** The document that filters run against: { type, id, vid, lu, idx }. */
  /** idx is replaced in place by a reindex (setIndex), which writes no new version. */
  readonly doc: { type: string; id: string; vid: number; lu: number; idx: IndexValues };
  /** "Type/id", one string per version: the maps and hash-index buckets holding it share it. */
  readonly key: string;
  /** The resource's number in the hash indexes' bits (hash-index.ts Member), set by the store before they see it. */
  slot = -1;
  /** See StoredVersion.plainKey: checked once here, not on every search page that holds it. */
  readonly plainKey: boolean;

  constructor(
    readonly type: string,
    readonly id: string,
    readonly vid: number,
    readonly lu: number,
    readonly json: string | undefined,
    idx: IndexValues,
    /** Always set, undefined or not (one object shape for every version): see Made. */
    readonly made: Made | undefined = undefined,
  ) {
    this.doc = { type, id, vid, lu, idx };
    this.key = resourceKey(type, id);
    this.plainKey = isPlainKey(type, id);
  }

  get idx(): IndexValues {
    return this.doc.idx;
  }

  /**
   * Drops the index values a superseded version no longer needs: searches see current versions
   * only, and what reads older ones (compartment checks for authorization and the audit trail)
   * needs only its references. They were about 3x the version's JSON in memory.
   */
  supersede(): void {
    const ref = this.doc.idx.ref;
    this.doc.idx = ref === undefined ? {} : { ref };
  }

  get deleted(): boolean {
    return this.json === undefined;
  }

  get resource(): Resource | undefined {
    return this.json === undefined ? undefined : (JSON.parse(this.json) as Resource);
  }
}
