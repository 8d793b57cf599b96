import type { Resource } from 'fhir/r4.js';
import { carryTexts, numberText } from '../fhir/json-decimals.js';

/**
 * True when two versions say the same thing: equal as JSON values, ignoring key order and the
 * meta elements the server sets (versionId, lastUpdated). Used so that an update with unchanged
 * content creates no new version.
 */
export function sameContent(a: Resource, b: Resource): boolean {
  return deepEqual(strip(a), strip(b));
}

function strip(r: Resource): unknown {
  if (!r.meta) return r;
  const { versionId: _v, lastUpdated: _l, ...meta } = r.meta;
  const copy: Record<string, unknown> = { ...r };
  carryTexts(r, copy);
  if (Object.keys(meta).length) copy.meta = meta;
  else delete copy.meta;
  return copy;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((_, i) => same(a, bb, String(i)));
  }
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && same(a as object, b as object, k));
}

/** Members `k` of two holders: numbers by the text they are written with (1.50 is not 1.5: a decimal's precision is data). */
function same(a: object, b: object, k: string): boolean {
  const x = (a as Record<string, unknown>)[k];
  const y = (b as Record<string, unknown>)[k];
  if (typeof x === 'number' && typeof y === 'number') return numberText(a, k, x) === numberText(b, k, y);
  return deepEqual(x, y);
}
