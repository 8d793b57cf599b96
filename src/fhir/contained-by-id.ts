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
  /** id -> index of the first item with it. */
  map: Map<string, number>;
}
const maps = new WeakMap<readonly unknown[], ById>();

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function mapOf(contained: readonly unknown[]): ById {
  const map = new Map<string, number>();
  contained.forEach((c, i) => {
    if (isRecord(c) && typeof c.id === 'string' && !map.has(c.id)) map.set(c.id, i);
  });
  const byId = { length: contained.length, map };
  maps.set(contained, byId);
  return byId;
}

/** The first resource in `contained` whose id is `id` (as contained.find would give it), or undefined. */
export function containedById(contained: unknown, id: string): Record<string, unknown> | undefined {
  if (!Array.isArray(contained)) return undefined;
  if (contained.length <= SMALL) return contained.find((c) => isRecord(c) && c.id === id) as Record<string, unknown> | undefined;
  let byId = maps.get(contained);
  // Made again when the array changed length (a patch, a rewrite): a map of another state would mislead.
  if (!byId || byId.length !== contained.length) byId = mapOf(contained);
  let at = byId.map.get(id);
  // The item there was replaced or renamed in place since: the map is made again. A miss is trusted
  // (searching again on every miss made n dangling references cost n² again): lookups come from one
  // pass, validation or indexing, over a resource that pass does not change.
  if (at !== undefined && !(isRecord(contained[at]) && contained[at].id === id)) at = mapOf(contained).map.get(id);
  return at === undefined ? undefined : (contained[at] as Record<string, unknown>);
}
