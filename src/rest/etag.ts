import { badRequest, preconditionFailed } from '../fhir/errors.js';

export const etagOf = (vid: number) => `W/"${vid}"`;

/** More digits than any version id can have (they are safe integers). */
const MAX_VERSION_DIGITS = 15;

/**
 * Version id from an ETag-like header value: W/"3", "3" or 3. The digits are read as text: a
 * number too long to be a version (Number would round it) names no version, so the precondition fails.
 */
export function parseVersionTag(value: string, header: string): number {
  const m = /^\s*(?:W\/)?("?)(\d+)\1\s*$/.exec(value);
  if (!m) throw badRequest(`${header} must be a version ETag such as W/"3" (got ${JSON.stringify(value.slice(0, 40))})`);
  const digits = m[2].replace(/^0+(?=\d)/, '');
  if (digits.length > MAX_VERSION_DIGITS) throw preconditionFailed(`${header} ${JSON.stringify(value.trim().slice(0, 40))} names a version that cannot exist`);
  return Number(digits);
}

/**
 * Conditional read (http.html#cread): whether a version is what the client already has, by
 * If-None-Match (its ETags, or '*') or else If-Modified-Since (compared in whole seconds, as
 * HTTP dates have them). A batch entry's ifModifiedSince is an instant, an HTTP header a date:
 * both parse. `strict` refuses one that does not parse (a bundle field), where a header is ignored.
 */
export function notModified(version: { vid: number; lu: number }, ifNoneMatch: string | undefined, ifModifiedSince: string | undefined, strict = false): boolean {
  if (ifNoneMatch !== undefined) return ifNoneMatchHits(ifNoneMatch, String(version.vid));
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

/**
 * Whether an If-None-Match value names the current representation, whose entity tag has the
 * opaque value `opaque` (without quotes): `*`, or one of its tags by the weak comparison RFC 9110
 * 13.1.2 asks for (W/ and quotes set aside).
 */
export function ifNoneMatchHits(ifNoneMatch: string, opaque: string): boolean {
  const tags = ifNoneMatch.split(',').map((t) => t.trim().replace(/^W\//, '').replace(/"/g, ''));
  return tags.includes(opaque) || tags.includes('*');
}
