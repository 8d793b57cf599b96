import type { Resource } from 'fhir/r4.js';
import { carryTexts } from '../fhir/json-decimals.js';

/** Copy of resource with id, meta.versionId and meta.lastUpdated set by the store. */
export function stampResource(resource: Resource, id: string, vid: number, lu: number): Resource {
  const meta = { ...(resource.meta ?? {}), versionId: String(vid), lastUpdated: new Date(lu).toISOString() };
  // Keep resourceType and id first so stored JSON reads naturally.
  const { resourceType, id: _ignored, meta: _oldMeta, ...rest } = resource as Resource & Record<string, unknown>;
  const stamped = { resourceType, id, meta, ...rest } as Resource;
  carryTexts(resource, stamped);
  return stamped;
}

export const versionKey = (type: string, id: string, vid: number) => `${type}/${id}/${vid}`;
/**
 * "Type/id", as one flat string: a template literal makes a rope (ConsString), and a map lookup
 * that meets an equal key in another object compares ropes a character at a time (3-4x slower
 * than flat strings). The embedded store's maps are keyed by them.
 */
export const resourceKey = (type: string, id: string) => [type, id].join('/');
