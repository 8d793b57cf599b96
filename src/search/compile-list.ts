import type { List } from 'fhir/r4.js';
import { badRequest, notSupported } from '../fhir/errors.js';
import type { Filter, FindQuery, StoredVersion } from '../store/port.js';
import { NOTHING } from './compiled.js';
import { normalizeReference } from './node-values.js';
import { orValues, unescapeValue } from './search-value.js';

const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * `_list=42` (search.html "_list"): the resources of the searched type that List/42 names in
 * its entries (an entry flagged `deleted` is no longer on the list). Comma-separated lists are
 * OR. Functional lists (`$current-allergies` ...) need clinical knowledge of what is "current"
 * that this server does not have, so they are refused rather than answered emptily.
 */
export async function compileList(
  find: (q: FindQuery) => Promise<StoredVersion[]>,
  type: string,
  name: string,
  modifier: string | undefined,
  value: string,
  base: string,
  maxItems: number,
): Promise<Filter> {
  if (modifier !== undefined) throw notSupported(`Unsupported modifier ':${modifier}' on '_list'`);
  const ids: string[] = [];
  for (const raw of orValues(name, value)) {
    const v = unescapeValue(raw);
    if (v.startsWith('$')) throw notSupported(`Functional list '${v}' in '_list' is not supported`);
    if (!ID_RE.test(v)) throw badRequest(`'_list' takes the id of a List; '${v}' is not an id`, 'value');
    ids.push(v);
  }
  const lists = await find({ types: ['List'], filter: { id: { $in: ids } }, limit: ids.length });
  const members = new Set<string>();
  const prefix = `${type}/`;
  for (const l of lists) {
    for (const e of (l.resource as List | undefined)?.entry ?? []) {
      const ref = e.item?.reference;
      if (e.deleted === true || !ref || ref.startsWith('#')) continue; // '#x' is a resource inside the List itself
      const r = normalizeReference(ref, base);
      if (r.startsWith(prefix)) members.add(r.slice(prefix.length));
    }
    if (members.size > maxItems) throw badRequest(`'${name}' names too many resources`, 'too-costly');
  }
  return members.size ? { id: members.size === 1 ? [...members][0] : { $in: [...members] } } : NOTHING;
}

/**
 * `_contained` / `_containedType` (search.html "Contained resources"): this server indexes and
 * returns only top-level resources, which is what the defaults (`false`, `container`) ask
 * for; any other value is refused (400) so that it is never silently ignored.
 */
export function compileContained(name: string, modifier: string | undefined, value: string): Filter {
  const code = name.split(':')[0];
  if (modifier !== undefined) throw notSupported(`Unsupported modifier ':${modifier}' on '${code}'`);
  const accepted = code === '_contained' ? 'false' : 'container';
  if (value !== accepted) {
    const known = code === '_contained' ? ['true', 'both'] : ['contained'];
    if (!known.includes(value)) throw badRequest(`Invalid ${code} value '${value}'`, 'value');
    throw notSupported(`${code}=${value} is not supported: contained resources are not searched or returned on their own`);
  }
  return {};
}
