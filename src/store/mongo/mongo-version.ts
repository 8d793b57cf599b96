import type { Resource } from 'fhir/r4.js';
import type { Made, StoredVersion } from '../port.js';

/** A document of the `resources` (current) or `history` collection. */
export interface VersionDoc {
  _id: string;
  type: string;
  id: string;
  vid: number;
  lu: number;
  deleted: boolean;
  res?: Resource;
  /** The resource's JSON text, when it has numbers whose text `res` does not keep (json-decimals.ts). */
  txt?: string;
  idx?: Record<string, unknown>;
  /** How the version was made, where its number does not tell (Made). */
  m?: Made;
}

export class MongoVersion implements StoredVersion {
  readonly type: string;
  readonly id: string;
  readonly vid: number;
  readonly lu: number;
  readonly deleted: boolean;
  readonly made: Made | undefined;
  private cachedJson: string | undefined;

  constructor(private readonly doc: VersionDoc) {
    this.type = doc.type;
    this.id = doc.id;
    this.vid = doc.vid;
    this.lu = doc.lu;
    this.deleted = doc.deleted;
    this.made = doc.m;
  }

  /** A fresh copy each time, so callers may modify it. */
  get resource(): Resource | undefined {
    return this.doc.res ? (JSON.parse(this.json!) as Resource) : undefined;
  }

  get json(): string | undefined {
    if (!this.doc.res) return undefined;
    return (this.cachedJson ??= this.doc.txt ?? JSON.stringify(this.doc.res));
  }
}
