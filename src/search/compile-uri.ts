import { badRequest } from '../fhir/errors.js';
import type { Filter } from '../store/port.js';
import { escapeRegex } from './fold.js';
import { unescapeValue } from './search-value.js';

/**
 * URI search: exact by default; :below matches stored URIs under the given one (a path
 * prefix), :above stored URIs that the given one is under (its path ancestors).
 */
export function uriCondition(param: string, modifier: string | undefined, raw: string): Filter {
  const value = unescapeValue(raw);
  switch (modifier) {
    case undefined:
      return { v: value };
    case 'below': {
      const base = value.replace(/\/+$/, '');
      return { v: { $regex: '^' + escapeRegex(base) + '(/|$)' } };
    }
    case 'above':
      return { v: { $in: ancestors(value) } };
    default:
      throw badRequest(`Unsupported modifier ':${modifier}' on uri parameter '${param}'`, 'not-supported');
  }
}

/** "http://a/b/c" → ["http://a/b/c", "http://a/b", "http://a"] (never above the authority). */
function ancestors(uri: string): string[] {
  const out = [uri];
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/]+/i.exec(uri)?.[0] ?? '';
  let cur = uri.replace(/\/+$/, '');
  if (cur !== uri) out.push(cur);
  while (cur.length > scheme.length && cur.includes('/')) {
    cur = cur.slice(0, cur.lastIndexOf('/'));
    if (cur.length < scheme.length || cur.endsWith(':') || cur.endsWith('/')) break;
    out.push(cur);
  }
  return out;
}
