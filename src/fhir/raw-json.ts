import type { BundleEntry, Resource } from 'fhir/r4.js';

const RAW = Symbol('raw-json');
type RawCarrier = { [RAW]?: string };

/**
 * A Bundle entry whose resource is still the stored JSON text. A search page would otherwise
 * parse every resource only to serialise it again: serializeJson splices the text as it is.
 * Reading `entry.resource` parses it (once); from then on the object is what gets serialised,
 * so code that changes it still sees its change in the response.
 */
export function entryWithStoredJson(fullUrl: string, json: string, search: BundleEntry['search']): BundleEntry {
  const entry = { fullUrl } as BundleEntry & RawCarrier;
  let parsed: Resource | undefined;
  Object.defineProperty(entry, 'resource', {
    enumerable: true,
    configurable: true,
    get() {
      if (parsed === undefined) {
        parsed = JSON.parse(json) as Resource;
        entry[RAW] = undefined;
      }
      return parsed;
    },
    set(v: Resource) {
      parsed = v;
      entry[RAW] = undefined;
    },
  });
  entry[RAW] = json;
  if (search) entry.search = search;
  return entry;
}

/** JSON text of a response body; a Bundle's entries that still hold stored JSON are spliced in. */
export function serializeJson(body: object, pretty: boolean): string {
  if (pretty) return JSON.stringify(body, null, 2);
  const entries = (body as { resourceType?: string; entry?: unknown }).entry;
  if ((body as { resourceType?: string }).resourceType !== 'Bundle' || !Array.isArray(entries) || !entries.some((e) => typeof (e as RawCarrier)?.[RAW] === 'string')) {
    return JSON.stringify(body);
  }
  const parts: string[] = [];
  for (const [k, v] of Object.entries(body)) {
    if (v === undefined) continue;
    parts.push(`${JSON.stringify(k)}:${k === 'entry' ? `[${entries.map(entryJson).join(',')}]` : JSON.stringify(v)}`);
  }
  return `{${parts.join(',')}}`;
}

function entryJson(e: unknown): string {
  const raw = (e as RawCarrier)?.[RAW];
  if (typeof raw !== 'string') return JSON.stringify(e);
  const parts: string[] = [];
  for (const k of Object.keys(e as object)) {
    if (k === 'resource') parts.push(`"resource":${raw}`);
    else {
      const v = (e as Record<string, unknown>)[k];
      if (v !== undefined) parts.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
    }
  }
  return `{${parts.join(',')}}`;
}
