/**
 * The contained resource a local reference `#id` names. Every reference of a resource asks it
 * (the validator's ref-1 and Reference.type checks, the search index of contained resources),
 * and a search of the contained array per reference made a resource with n contained resources
 * and as many references cost n² (20,000 of each: 4.5 s of validation, 40,000: 21 s). Arrays of
 * more than a few are looked up through a map made once per array.
 */
const SMALL = 8;

interface ById {
  length: number;
  map: Map<string, Record<string, unknown>>;
}
const maps = new WeakMap<readonly unknown[], ById>();

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first resource in `contained` whose id is `id` (as contained.find would give it), or undefined. */
export function containedById(contained: unknown, id: string): Record<string, unknown> | undefined {
  if (!Array.isArray(contained)) return undefined;
  if (contained.length <= SMALL) return contained.find((c) => isRecord(c) && c.id === id) as Record<string, unknown> | undefined;
  let byId = maps.get(contained);
  // Made again when the array changed length (a patch, a rewrite): a map of another state would mislead.
  if (!byId || byId.length !== contained.length) {
    const map = new Map<string, Record<string, unknown>>();
    for (const c of contained) if (isRecord(c) && typeof c.id === 'string' && !map.has(c.id)) map.set(c.id, c);
    maps.set(contained, (byId = { length: contained.length, map }));
  }
  const hit = byId.map.get(id);
  if (hit === undefined || hit.id === id) return hit;
  // An item renamed in place since the map was made: the map is made again. (A miss is trusted:
  // asking the slow way on every miss made n dangling references cost n² again. Lookups happen
  // within one pass of validation or indexing, over a resource that pass does not change.)
  maps.delete(contained);
  return containedById(contained, id);
}
