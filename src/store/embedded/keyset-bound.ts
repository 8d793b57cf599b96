import type { Filter } from '../port.js';

/**
 * The boundary of a paging cursor's keyset over (type, id), the default search order: "rows
 * after Type/id" ascending, or "rows before Type/id" descending. Recognised only when the filter
 * is exactly what search/cursor.ts builds for that order, so a page can start at a binary search
 * in the sorted keys instead of testing every key before it; anything else gives undefined.
 */
export function keysetBound(f: Filter): { key: string; after: boolean } | undefined {
  const or = f.$or;
  if (Object.keys(f).length !== 1 || !Array.isArray(or) || or.length !== 2) return undefined;
  const first = or[0] as Record<string, any>;
  const second = or[1] as Record<string, any>;
  const t: unknown = first?.type?.$gt ?? first?.$or?.[0]?.type?.$lt;
  const eq = second?.$and?.[1];
  const id: unknown = eq?.id?.$gt ?? eq?.$or?.[0]?.id?.$lt;
  if (typeof t !== 'string' || typeof id !== 'string') return undefined;
  const ascending = { $or: [{ type: { $gt: t } }, { $and: [{ type: { $eq: t } }, { id: { $gt: id } }] }] };
  const descending = {
    $or: [{ $or: [{ type: { $lt: t } }, { type: { $exists: false } }] }, { $and: [{ type: { $eq: t } }, { $or: [{ id: { $lt: id } }, { id: { $exists: false } }] }] }],
  };
  const text = JSON.stringify(f);
  // Stored documents always have a type and an id: "$exists: false" never matches them.
  if (text === JSON.stringify(ascending)) return { key: `${t}/${id}`, after: true };
  if (text === JSON.stringify(descending)) return { key: `${t}/${id}`, after: false };
  return undefined;
}
