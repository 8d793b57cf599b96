import { badRequest } from '../fhir/errors.js';

export const etagOf = (vid: number) => `W/"${vid}"`;

/** Version id from an ETag-like header value: W/"3", "3" or 3. */
export function parseVersionTag(value: string, header: string): number {
  const m = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(value);
  if (!m) throw badRequest(`${header} must be a version ETag such as W/"3" (got ${JSON.stringify(value.slice(0, 40))})`);
  return Number(m[1]);
}
