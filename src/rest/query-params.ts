import { badRequest } from '../fhir/errors.js';
import { isResultParam } from '../search/compile.js';

/** Parses a query string (no leading '?') into ordered pairs; repeated names are kept. */
export function parseQuery(query: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of new URLSearchParams(query)) out.push([k, v]);
  return out;
}

/** Parameters that shape the response, not the query (http.html#mime-type, #pretty): exactly these names. */
export const FORMAT_PARAMS: ReadonlySet<string> = new Set(['_format', '_pretty']);

/**
 * The criteria of a condition (conditional create, update or delete, over REST or in a bundle,
 * and a conditional reference): its query without the format parameters, which must leave at
 * least one criterion, each with a value. Any other name, "_formatx" included, is a criterion
 * the search engine must know or refuse. A condition with none would match every resource, and
 * one that ignored an empty parameter (as a search does, search.html#errors) would match more
 * than the client wrote: what a condition matches is what gets written, so both are refused.
 * So are result parameters (`_count`, `_sort`, `_summary`, ...): they select nothing, and a
 * condition of only those matched every resource of the type. `what` names the condition in the error.
 */
export function conditionCriteria(query: string, what: string): Array<[string, string]> {
  const params = parseQuery(query).filter(([k]) => !FORMAT_PARAMS.has(k));
  if (params.length === 0) throw badRequest(`${what} has no search parameters`);
  const result = params.find(([k]) => isResultParam(k));
  if (result) throw badRequest(`${what}: '${result[0].slice(0, 60)}' is a result parameter, not a criterion: a condition takes only parameters that select`, 'invalid');
  const empty = params.find(([, v]) => v === '');
  if (empty) throw badRequest(`${what}: the parameter '${empty[0].slice(0, 60)}' has no value: a condition names what it matches`, 'invalid');
  return params;
}

/** An If-None-Exist header or Bundle.entry.request.ifNoneExist: its criteria, written with or without a leading "Type?". */
export function ifNoneExistCriteria(value: string): Array<[string, string]> {
  return conditionCriteria(value.replace(/^[A-Za-z]*\?/, ''), 'If-None-Exist');
}

/** "Patient?identifier=a|b" → type and its criteria; used by conditional operations and references. */
export function parseConditionalUrl(url: string): { type: string; params: Array<[string, string]> } {
  const q = url.indexOf('?');
  if (q < 0) throw badRequest(`not a conditional URL: ${url.slice(0, 100)}`);
  const type = url.slice(0, q).replace(/^\/+/, '');
  return { type, params: conditionCriteria(url.slice(q + 1), `The conditional URL ${url.slice(0, 100)}`) };
}

/** A canonical key for a conditional query, so identical conditions serialise on one lock. */
export function conditionKey(type: string, params: Array<[string, string]>): string {
  const sorted = [...params].sort((a, b) => (a[0] + '=' + a[1] < b[0] + '=' + b[1] ? -1 : 1));
  return type + '?' + sorted.map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(v)).join('&');
}
