import { badRequest } from '../fhir/errors.js';

export const etagOf = (vid: number) => `W/"${vid}"`;

/** Version id from an ETag-like header value: W/"3", "3" or 3. */
export function parseVersionTag(value: string, header: string): number {
  const m = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(value);
  if (!m) throw badRequest(`${header} must be a version ETag such as W/"3" (got ${JSON.stringify(value.slice(0, 40))})`);
  return Number(m[1]);
}

/**
 * Conditional read (http.html#cread): whether a version is what the client already has, by
 * If-None-Match (its ETags, or '*') or else If-Modified-Since (compared in whole seconds, as
 * HTTP dates have them). A batch entry's ifModifiedSince is an instant, an HTTP header a date:
 * both parse. `strict` refuses one that does not parse (a bundle field), where a header is ignored.
 */
export function notModified(version: { vid: number; lu: number }, ifNoneMatch: string | undefined, ifModifiedSince: string | undefined, strict = false): boolean {
  if (ifNoneMatch !== undefined) {
    const tags = ifNoneMatch.split(',').map((t) => t.trim().replace(/^W\//, '').replace(/"/g, ''));
    return tags.includes(String(version.vid)) || tags.includes('*');
  }
  if (ifModifiedSince !== undefined) {
    const since = Date.parse(ifModifiedSince);
    if (!Number.isFinite(since)) {
      if (strict) throw badRequest(`ifModifiedSince must be an instant (got ${JSON.stringify(ifModifiedSince.slice(0, 40))})`);
      return false;
    }
    return Math.floor(version.lu / 1000) * 1000 <= since;
  }
  return false;
}
