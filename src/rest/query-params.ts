import { badRequest } from '../fhir/errors.js';

/** Parses a query string (no leading '?') into ordered pairs; repeated names are kept. */
export function parseQuery(query: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of new URLSearchParams(query)) out.push([k, v]);
  return out;
}

/** Parameters that shape the response, not the query (http.html#mime-type, #pretty): exactly these names. */
export const FORMAT_PARAMS: ReadonlySet<string> = new Set(['_format', '_pretty']);

/**
 * A conditional interaction's criteria: its query without the format parameters. Any other
 * name, "_formatx" included, is a criterion the search engine must know or refuse: dropping it
 * would widen what an update or delete matches.
 */
export function criteriaOf(query: string): Array<[string, string]> {
  return assertCriteriaValues(parseQuery(query).filter(([k]) => !FORMAT_PARAMS.has(k)));
}

/**
 * A conditional interaction's (or reference's) criteria, each with a value. A search ignores a
 * parameter with no value (search.html#errors); a condition that ignored one would match more
 * than the client wrote, and what it matches is what gets written: refused instead.
 */
export function assertCriteriaValues(params: Array<[string, string]>): Array<[string, string]> {
  const empty = params.find(([, v]) => v === '');
  if (empty) throw badRequest(`The condition's parameter '${empty[0].slice(0, 60)}' has no value: a condition names what it matches`, 'invalid');
  return params;
}

/** "Patient?identifier=a|b" → type and parsed params; used by conditional operations and references. */
export function parseConditionalUrl(url: string): { type: string; params: Array<[string, string]> } {
  const q = url.indexOf('?');
  if (q < 0) throw badRequest(`not a conditional URL: ${url.slice(0, 100)}`);
  const type = url.slice(0, q).replace(/^\/+/, '');
  const params = parseQuery(url.slice(q + 1));
  if (params.length === 0) throw badRequest(`conditional URL has no search parameters: ${url.slice(0, 100)}`);
  return { type, params: assertCriteriaValues(params) };
}

/** A canonical key for a conditional query, so identical conditions serialise on one lock. */
export function conditionKey(type: string, params: Array<[string, string]>): string {
  const sorted = [...params].sort((a, b) => (a[0] + '=' + a[1] < b[0] + '=' + b[1] ? -1 : 1));
  return type + '?' + sorted.map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(v)).join('&');
}
