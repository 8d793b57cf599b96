import type { BundleEntry, Resource } from 'fhir/r4.js';
import { parseJson, stringifyJson } from './json-decimals.js';

/**
 * A Bundle entry whose resource is still the stored JSON text. A search page would otherwise
 * parse every resource only to serialise it again: serializeJson splices the text as it is.
 * Reading `entry.resource` parses it (once); from then on the object is what gets serialised,
 * so code that changes it still sees its change in the response. A class (not an accessor
 * defined per object) keeps entries cheap to make: a page has up to 1,000 of them.
 */
class StoredJsonEntry {
  #json: string | undefined;
  #parsed: Resource | undefined;
  /**
   * When the maker knew them: the JSON literal of the base without its closing quote, the type
   * and the id that fullUrl was made of (none needs escaping), and that fullUrl.
   */
  #baseJson: string | undefined;
  #type = '';
  #id = '';
  #urlFor: string | undefined;

  /** `baseJson`, `type`, `id`: what fullUrl was made of, when none needs escaping (else baseJson undefined). */
  constructor(
    public fullUrl: string,
    json: string,
    public search: BundleEntry['search'] | undefined,
    baseJson: string | undefined,
    type: string,
    id: string,
  ) {
    this.#json = json;
    if (baseJson !== undefined) {
      this.#baseJson = baseJson;
      this.#type = type;
      this.#id = id;
      this.#urlFor = fullUrl;
    }
    if (search === undefined) delete this.search;
  }

  /** fullUrl as a JSON literal, in pieces: the maker's, while fullUrl is still the one it was made for. */
  private pushUrlJson(parts: string[]): void {
    if (this.#baseJson !== undefined && this.fullUrl === this.#urlFor) parts.push(this.#baseJson, '/', this.#type, '/', this.#id, '"');
    else parts.push(quote(this.fullUrl));
  }

  get resource(): Resource {
    if (this.#parsed === undefined) {
      this.#parsed = parseJson(this.#json!) as Resource;
      this.#json = undefined;
    }
    return this.#parsed;
  }

  set resource(v: Resource) {
    this.#parsed = v;
    this.#json = undefined;
  }

  /**
   * Appends the entry's JSON text to `parts`, with the stored resource spliced in, while nothing
   * replaced it: fullUrl, resource, then the other members (a search page's search, a history
   * entry's request and response) in the order they were set. False (nothing appended) once the
   * resource was parsed. Pieces, not one string: a template would make a rope per entry, which
   * the join then walks node by node; flat pieces are copied whole.
   */
  pushText(parts: string[]): boolean {
    const json = this.#json;
    if (json === undefined) return false;
    parts.push('{"fullUrl":');
    this.pushUrlJson(parts);
    parts.push(',"resource":', json);
    for (const k in this) {
      if (k === 'fullUrl') continue;
      const v = (this as Record<string, unknown>)[k];
      if (v === undefined) continue;
      if (k === 'search') parts.push(',"search":', searchJson(v as NonNullable<BundleEntry['search']>));
      else parts.push(',', JSON.stringify(k), ':', stringifyJson(v));
    }
    parts.push('}');
    return true;
  }

  /** For JSON.stringify (pretty output and anything else): fullUrl, resource, then the rest. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { fullUrl: this.fullUrl, resource: this.resource };
    for (const [k, v] of Object.entries(this)) if (k !== 'fullUrl') out[k] = v;
    return out;
  }
}

/** Printable ASCII without '"' and '\\': a string of these is its own JSON literal once quoted. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
/** JSON literal of a string; a fullUrl (base/Type/id) is nearly always plain, which one test shows faster than escaping it. */
const quote = (s: string) => (PLAIN.test(s) ? `"${s}"` : JSON.stringify(s));

/** The JSON of the two search objects of nearly every entry, made once. */
const MODE_ONLY: Record<string, string> = { match: '{"mode":"match"}', include: '{"mode":"include"}' };
function searchJson(search: NonNullable<BundleEntry['search']>): string {
  const { mode } = search;
  if (mode !== undefined && search.score === undefined && Object.keys(search).length === 1 && MODE_ONLY[mode] !== undefined) return MODE_ONLY[mode];
  return JSON.stringify(search);
}

/** A character a resource type or a FHIR id may not have: searched for, which is cheaper than matching the whole name. */
const NOT_TYPE = /[^A-Za-z]/;
const NOT_ID = /[^A-Za-z0-9\-.]/;
const isType = (s: string) => s.length > 0 && s.length <= 64 && !NOT_TYPE.test(s);
const isId = (s: string) => s.length > 0 && s.length <= 64 && !NOT_ID.test(s);

/** Whether a type and an id go into a fullUrl's JSON as they are (StoredVersion.plainKey). */
export const isPlainKey = (type: string, id: string): boolean => isType(type) && isId(id);

/**
 * Makes the stored-JSON entries of search pages on one server base, fullUrl = base/Type/id. The
 * fullUrl's JSON literal is the base's, escaped once, plus a type and a FHIR id, which never need
 * escaping: no per-entry scan of the whole URL (a fullUrl is a fresh concatenation, which a
 * test or an escape would first have to flatten). Type and id are tested here unless the store
 * already did (`plainKey`); any others are escaped.
 */
export type StoredEntry = (type: string, id: string, json: string, search: BundleEntry['search'], plainKey?: boolean) => BundleEntry;

export function storedEntryMaker(base: string): StoredEntry {
  const baseJson = JSON.stringify(base).slice(0, -1);
  // plainKey: the store already checked them (StoredVersion.plainKey).
  return (type, id, json, search, plainKey = false) => {
    const fullUrl = `${base}/${type}/${id}`;
    return new StoredJsonEntry(fullUrl, json, search, plainKey || isPlainKey(type, id) ? baseJson : undefined, type, id) as BundleEntry;
  };
}

/** JSON text of a response body; a Bundle's entries that still hold stored JSON are spliced in. */
export function serializeJson(body: object, pretty: boolean): string {
  if (pretty) return stringifyJson(body, 2);
  const entries = (body as { resourceType?: string; entry?: unknown }).entry;
  if ((body as { resourceType?: string }).resourceType !== 'Bundle' || !Array.isArray(entries) || !entries.some((e) => e instanceof StoredJsonEntry)) {
    return stringifyJson(body);
  }
  // As a search page is built, the entries come last: the rest is one JSON.stringify (which
  // leaves out an undefined member) and the entries follow. Anything else is JSON.stringify's
  // alone (entries parse their stored JSON for it).
  const keys = Object.keys(body);
  if (keys[keys.length - 1] !== 'entry') return stringifyJson(body);
  const head = JSON.stringify({ ...body, entry: undefined });
  // Joined into one flat text: Fastify measures the body (which flattens a rope into a copy)
  // before Node copies it again behind the header.
  const parts: string[] = [head.length > 2 ? `${head.slice(0, -1)},"entry":[` : '{"entry":['];
  for (let i = 0; i < entries.length; i++) {
    if (i) parts.push(',');
    const e: unknown = entries[i];
    if (!(e instanceof StoredJsonEntry && e.pushText(parts))) parts.push(stringifyJson(e));
  }
  parts.push(']}');
  return parts.join('');
}
