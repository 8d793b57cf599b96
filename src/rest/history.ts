import type { Bundle, BundleEntry, BundleEntryRequest, BundleLink, Resource } from 'fhir/r4.js';
import { badRequest, notFound } from '../fhir/errors.js';
import { assertKnownElements, parseElements, parseSummary, type ElementFilter } from '../search/summary.js';
import type { HistoryCursor, StoredVersion } from '../store/port.js';
import { assertId, assertKnownType } from './checks.js';
import { etagOf } from './etag.js';
import { formEncode } from '../search/query-string.js';
import { parseQuery } from './query-params.js';
import type { RestResult } from './result.js';
import type { Services } from './services.js';
import { parseInstantParam } from './instant-param.js';
import { resourceOf } from '../fhir/json-decimals.js';
import { storedEntryMaker, type StoredEntry } from '../fhir/raw-json.js';

const DEFAULT_COUNT = 50;
const MAX_COUNT = 1000;

/**
 * History for an instance, a type or the whole system (http.html#history), newest first, paged by
 * cursor; `elements` applies _summary and _elements to the entries' resources, as on a search page.
 */
export async function history(s: Services, scope: { type?: string; id?: string }, rawQuery: string, elements: ElementFilter): Promise<RestResult> {
  if (scope.type) assertKnownType(s, scope.type);
  if (scope.id) assertId(scope.id);
  let count = DEFAULT_COUNT;
  let since: number | undefined;
  let at: { lo: number; hi: number } | undefined;
  let after: HistoryCursor | undefined;
  let summaryText: string | undefined;
  let elementsText: string | undefined;
  // As on a search (search.html#errors), a parameter with no value is ignored, and left out of the links.
  const used = parseQuery(rawQuery).filter(([, v]) => v !== '');
  const seen = new Set<string>();
  for (const [k, v] of used) {
    // Each says one thing: given twice, which one the client meant is unknown.
    if (k !== '_format' && k !== '_pretty' && seen.has(k)) throw badRequest(`Parameter '${k.slice(0, 40)}' may appear only once`, 'invalid');
    seen.add(k);
    if (k === '_count') {
      if (!/^\d+$/.test(v)) throw badRequest(`_count must be a whole number (got '${v.slice(0, 20)}')`);
      count = Math.min(Number(v), MAX_COUNT);
    } else if (k === '_since') since = parseInstantParam(v, '_since').lo;
    else if (k === '_at') at = parseInstantParam(v, '_at');
    else if (k === '_page') after = decodeCursor(v);
    else if (k === '_summary') summaryText = v;
    else if (k === '_elements') elementsText = v;
    else if (k === '_format' || k === '_pretty') continue;
    else throw badRequest(`Unknown parameter '${k.slice(0, 40)}' for history: use _count, _since, _at, _summary, _elements`, 'not-supported');
  }
  const summary = parseSummary(summaryText);
  const only = parseElements(elementsText);
  assertKnownElements(elements, scope.type ? [scope.type] : [...s.resourceTypes], only);
  if (summary === 'count') count = 0;
  // Unshaped versions go out as their stored JSON, never parsed (as on search pages).
  const stored = !summary && !only ? storedEntryMaker(s.config.baseUrl) : undefined;
  const shape = (r: Resource) => elements.apply(r, summary, only);
  const base = { type: scope.type, id: scope.id, since };
  let rows: StoredVersion[];
  let total: number;
  if (at) {
    // Versions current at some moment in [lo, hi]: those written in the range plus, per
    // resource, the one that was current when the range began.
    const all = await s.store.history({ ...base, before: at.hi, limit: Number.MAX_SAFE_INTEGER });
    const seen = new Set<string>();
    const matching: StoredVersion[] = [];
    for (const v of all) {
      const key = v.type + '/' + v.id;
      if (v.lu >= at.lo) matching.push(v);
      else if (!seen.has(key)) matching.push(v);
      seen.add(key);
    }
    total = matching.length;
    const start = after ? matching.findIndex((v) => isAfter(v, after!)) : 0;
    rows = start < 0 ? [] : matching.slice(start, start + count);
  } else {
    total = await s.store.countHistory(base);
    rows = count === 0 ? [] : await s.store.history({ ...base, limit: count, after });
  }
  if (scope.id && total === 0) {
    // No version at all: the resource is not known (404, as a read says), unlike one whose
    // versions _since or _at leave out. A version the token may not see counts as none, as on read.
    const ever = since === undefined && !at ? 0 : await s.store.countHistory({ type: scope.type, id: scope.id });
    if (ever === 0) throw notFound(`${scope.type}/${scope.id} is not known`);
  }
  const path = [scope.type, scope.id, '_history'].filter(Boolean).join('/');
  const selfQuery = formEncode(used);
  const link: BundleLink[] = [{ relation: 'self', url: `${s.config.baseUrl}/${path}${selfQuery ? '?' + selfQuery : ''}` }];
  if (rows.length === count && count > 0) {
    const last = rows[rows.length - 1];
    const q = new URLSearchParams(used.filter(([k]) => k !== '_page'));
    q.set('_page', encodeCursor({ lu: last.lu, key: `${last.type}/${last.id}/${last.vid}` }));
    link.push({ relation: 'next', url: `${s.config.baseUrl}/${path}?${q}` });
  }
  const bundle: Bundle = { resourceType: 'Bundle', type: 'history', total, link };
  if (rows.length) bundle.entry = rows.map((v) => historyEntry(s, v, shape, stored));
  return { status: 200, body: bundle };
}

function isAfter(v: StoredVersion, c: HistoryCursor): boolean {
  if (v.lu !== c.lu) return v.lu < c.lu;
  return `${v.type}/${v.id}/${v.vid}` < c.key;
}

function historyEntry(s: Services, v: StoredVersion, shape: (r: Resource) => Resource, stored: StoredEntry | undefined): BundleEntry {
  const fullUrl = `${s.config.baseUrl}/${v.type}/${v.id}`;
  const response = { status: v.deleted ? '204' : v.vid === 1 ? '201' : '200', etag: etagOf(v.vid), lastModified: new Date(v.lu).toISOString() };
  if (v.deleted) return { fullUrl, request: { method: 'DELETE', url: `${v.type}/${v.id}` }, response };
  // How the version was made: version 1 by POST, unless a PUT created it (update as create); later ones by PUT or PATCH.
  const request: BundleEntryRequest =
    v.vid === 1 && v.made !== 'PUT' ? { method: 'POST', url: v.type } : { method: v.made === 'PATCH' ? 'PATCH' : 'PUT', url: `${v.type}/${v.id}` };
  if (stored) {
    const entry = stored(v.type, v.id, v.json!, undefined, v.plainKey);
    entry.request = request;
    entry.response = response;
    return entry;
  }
  return { fullUrl, resource: shape(resourceOf(v)), request, response };
}

export function encodeCursor(c: HistoryCursor): string {
  return Buffer.from(`${c.lu}|${c.key}`).toString('base64url');
}

function decodeCursor(v: string): HistoryCursor {
  const text = Buffer.from(v, 'base64url').toString('utf8');
  const m = /^(\d+)\|([A-Za-z]+\/[A-Za-z0-9\-.]{1,64}\/\d+)$/.exec(text);
  if (!m) throw badRequest('_page is not a cursor this server issued');
  return { lu: Number(m[1]), key: m[2] };
}
