/**
 * The memo key of a query's parts (types, filter, ...): their JSON, with each RegExp written as
 * its source and flags (plain JSON prints every RegExp as {}, so `:contains` searches differing
 * only in their text would share an answer). The replacer is called back for every value, most
 * of the cost, so it is only used when the value holds a RegExp.
 */
export function queryKey(value: unknown): string {
  if (!hasRegExp(value)) return JSON.stringify(value);
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof RegExp ? { $re: v.source, $flags: v.flags } : v));
}

function hasRegExp(v: unknown): boolean {
  if (v instanceof RegExp) return true;
  if (typeof v !== 'object' || v === null) return false;
  if (Array.isArray(v)) {
    for (const x of v) if (hasRegExp(x)) return true;
    return false;
  }
  for (const k in v) if (hasRegExp((v as Record<string, unknown>)[k])) return true;
  return false;
}
