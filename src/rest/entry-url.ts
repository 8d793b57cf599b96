import { isAbsoluteUri } from '../fhir/absolute-uri.js';
import { badRequest } from '../fhir/errors.js';

/** What a transaction or batch entry's request.url addresses, below this server's base. */
export interface EntryTarget {
  /** The url below the base in its one spelling: decoded path segments joined by '/', then '?' and the query as given. */
  url: string;
  /** Path segments, percent-decoded ([type], [type, id], [type, id, '_history', vid], ...). */
  parts: string[];
  /** The query as given (undefined without '?'). */
  query?: string;
}

/**
 * The one reading of an entry's request.url (http.html#transaction: relative to the base, or this
 * server's absolute base URL): the access checks (src/auth/security.ts) and the bundle processing
 * (src/rest/bundle.ts) both take the entry's type, id and query from it, so what is checked is what
 * runs. A url that is not relative to this server (another server's URL, a scheme after leading
 * slashes, a dot segment, a segment that does not decode to one segment) is a 400.
 */
export function entryTarget(url: string, baseUrl: string, where: string): EntryTarget {
  const rel = url.startsWith(baseUrl + '/') ? url.slice(baseUrl.length + 1) : url.replace(/^\/+/, '');
  const q = rel.indexOf('?');
  const path = q < 0 ? rel : rel.slice(0, q);
  const query = q < 0 ? undefined : rel.slice(q + 1);
  const parts = isAbsoluteUri(rel) ? undefined : decodedSegments(path);
  if (!parts) throw badRequest(`${where}.request.url '${url.slice(0, 100)}' is not a URL relative to this server's base`, 'invalid', `${where}.request.url`);
  return { url: parts.join('/') + (query === undefined ? '' : '?' + query), parts, query };
}

/** Non-empty path segments, decoded; undefined when one is a dot segment or does not decode to a single segment. */
function decodedSegments(path: string): string[] | undefined {
  const out: string[] = [];
  for (const raw of path.split('/')) {
    if (!raw) continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (seg === '.' || seg === '..' || seg.includes('/')) return undefined;
    out.push(seg);
  }
  return out;
}
