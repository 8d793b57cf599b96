import { badRequest } from '../fhir/errors.js';
import type { Filter, StoredVersion } from '../store/port.js';
import { allOf, NOTHING } from './compiled.js';
import type { IndexExtractor } from './extract.js';
import type { SortSpec } from './sort.js';

/**
 * Keyset paging: a cursor holds the sort values of the row at a page boundary (never an
 * offset), so pages stay consistent while data changes and deep pages cost no skip.
 * Missing sort values sort first ascending and last descending, as in MongoDB.
 */
export type SortValue = string | number | null;
export interface Cursor {
  /** 'n': rows after v; 'p': rows before v. */
  d: 'n' | 'p';
  v: SortValue[];
  /** The total counted on an earlier page, repeated by `_total=estimate` (see total.ts). */
  t?: number;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');
}

export function decodeCursor(token: string, specs: readonly SortSpec[]): Cursor {
  const bad = () => badRequest('Invalid or expired paging cursor', 'invalid');
  if (token.length > 8192 || !/^[A-Za-z0-9_-]+$/.test(token)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const c = parsed as Partial<Cursor>;
  if (!c || (c.d !== 'n' && c.d !== 'p') || !Array.isArray(c.v) || c.v.length !== specs.length) throw bad();
  // only plain scalars may reach the filter: an object here could be read as a query operator
  if (!c.v.every((x) => x === null || typeof x === 'string' || (typeof x === 'number' && Number.isFinite(x)))) throw bad();
  if (c.t !== undefined && !(Number.isSafeInteger(c.t) && c.t >= 0)) throw bad();
  return c.t === undefined ? { d: c.d, v: c.v } : { d: c.d, v: c.v, t: c.t };
}

/** Sort values of a result row, computed from its resource (the page holds resources, not index documents). */
export function rowValues(row: StoredVersion, specs: readonly SortSpec[], extractor: IndexExtractor): SortValue[] {
  return specs.map((s) => {
    if (s.field === 'id') return row.id;
    if (s.field === 'type') return row.type;
    if (s.field === 'lu') return row.lu;
    if (!s.code || !row.resource) return null;
    const key = extractor.sortKeyOf(row.resource, s.code);
    return key ? (s.dir === 1 ? key.a : key.d) : null;
  });
}

/** Rows strictly after `values` in the order of specs (reversed when `reverse`). */
export function keysetFilter(specs: readonly SortSpec[], values: readonly SortValue[], reverse: boolean): Filter {
  const alternatives: Filter[] = [];
  for (let i = 0; i < specs.length; i++) {
    const dir = reverse ? -specs[i].dir : specs[i].dir;
    const step = strictlyAfter(specs[i].field, dir, values[i]);
    if (!step) continue;
    const eqs = specs.slice(0, i).map((s, j) => equal(s.field, values[j]));
    alternatives.push(allOf([...eqs, step]));
  }
  if (alternatives.length === 0) return NOTHING;
  return alternatives.length === 1 ? alternatives[0] : { $or: alternatives };
}

function equal(field: string, v: SortValue): Filter {
  return v === null ? { [field]: { $exists: false } } : { [field]: { $eq: v } };
}

function strictlyAfter(field: string, dir: number, v: SortValue): Filter | undefined {
  if (dir === 1) return v === null ? { [field]: { $exists: true } } : { [field]: { $gt: v } };
  if (v === null) return undefined;
  return { $or: [{ [field]: { $lt: v } }, { [field]: { $exists: false } }] };
}
