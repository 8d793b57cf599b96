import { firstK } from './first-k.js';

/**
 * The first `k` of a set of items by their "Type/id" keys in (type, id) order — the default
 * order of a search — without looking at any document. Resource types are letters only and ids
 * are [A-Za-z0-9-.], all of which sort after '/' except '-' and '.', which cannot occur in a
 * type: so comparing whole keys as strings is comparing (type, id).
 */
export function topKeys<M extends { readonly key: string }>(items: Iterable<M>, k: number, descending: boolean): M[] {
  return firstK(items, k, descending ? (a, b) => a.key > b.key : (a, b) => a.key < b.key);
}
