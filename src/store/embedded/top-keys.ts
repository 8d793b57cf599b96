import { firstK } from './first-k.js';

/**
 * The first `k` of a set of "Type/id" keys in (type, id) order — the default order of a search
 * — without looking at any document. Resource types are letters only and ids are
 * [A-Za-z0-9-.], all of which sort after '/' except '-' and '.', which cannot occur in a type:
 * so comparing whole keys as strings is comparing (type, id).
 */
export function topKeys(keys: Iterable<string>, k: number, descending: boolean): string[] {
  return firstK(keys, k, descending ? (a, b) => a > b : (a, b) => a < b);
}
