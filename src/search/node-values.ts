import { fold } from './fold.js';
import { dateRange, MAX_MS, MIN_MS } from './date-range.js';
import type { ParamType } from './params.js';
import { ucumConverter, UCUM_SYSTEM } from './ucum.js';

/**
 * Turns one FHIRPath result (its FHIR data type and JSON value) into index entries of a
 * parameter type, without the parameter code. Data types that a parameter type cannot index
 * give no entries.
 */
type Obj = Record<string, unknown>;
type Entry = Record<string, unknown>;

const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const obj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

export interface ValueContext {
  /** Server base URL without trailing slash, to make references on our base relative. */
  base: string;
}

export function entriesOf(ptype: ParamType, dataType: string, data: unknown, ctx: ValueContext): Entry[] {
  switch (ptype) {
    case 'string':
      return stringEntries(dataType, data);
    case 'token':
      return tokenEntries(dataType, data);
    case 'date':
      return dateEntries(dataType, data);
    case 'number':
      return numberEntries(dataType, data);
    case 'quantity':
      return quantityEntries(dataType, data);
    case 'reference':
      return referenceEntries(data, ctx);
    case 'uri':
      return uriEntries(data);
    default:
      return [];
  }
}

const STRING_PARTS: Record<string, string[]> = {
  HumanName: ['family', 'given', 'prefix', 'suffix', 'text'],
  Address: ['line', 'city', 'district', 'state', 'postalCode', 'country', 'text'],
};
const SKIP_KEYS = new Set(['extension', 'modifierExtension', 'id', 'url', 'system', 'use', 'period', 'reference']);

function stringEntries(dataType: string, data: unknown): Entry[] {
  const texts: string[] = [];
  if (typeof data === 'string') texts.push(data);
  else if (obj(data)) {
    const parts = STRING_PARTS[dataType];
    if (parts) for (const k of parts) for (const v of list(data[k])) if (str(v)) texts.push(v);
    if (!parts) collectStrings(data, texts, 0);
  }
  return texts.filter(str).map((x) => ({ v: fold(x), x }));
}

function collectStrings(o: Obj, out: string[], depth: number): void {
  if (depth > 4) return;
  for (const [k, v] of Object.entries(o)) {
    if (SKIP_KEYS.has(k) || k.startsWith('_')) continue;
    for (const item of list(v)) {
      if (str(item)) out.push(item);
      else if (obj(item)) collectStrings(item, out, depth + 1);
    }
  }
}

function coding(c: Obj): Entry | undefined {
  const e: Entry = {};
  if (str(c.system)) e.s = c.system;
  if (str(c.code)) e.c = c.code;
  if (str(c.display)) e.t = fold(c.display);
  return Object.keys(e).length ? e : undefined;
}

function tokenEntries(dataType: string, data: unknown): Entry[] {
  if (typeof data === 'boolean') return [{ c: String(data) }];
  if (typeof data === 'string') return data ? [{ c: data }] : [];
  if (typeof data === 'number') return [{ c: String(data) }];
  if (!obj(data)) return [];
  switch (dataType) {
    case 'Coding': {
      const e = coding(data);
      return e ? [e] : [];
    }
    case 'CodeableConcept': {
      const out: Entry[] = [];
      for (const c of list(data.coding)) if (obj(c)) { const e = coding(c); if (e) out.push(e); }
      if (str(data.text)) out.push({ t: fold(data.text) });
      return out;
    }
    case 'Identifier': {
      const base: Entry = {};
      if (str(data.system)) base.s = data.system;
      if (str(data.value)) base.c = data.value;
      const type = obj(data.type) ? data.type : undefined;
      if (type && str(type.text)) base.t = fold(type.text);
      const out: Entry[] = Object.keys(base).length ? [base] : [];
      // one extra entry per type coding carries it for :of-type
      for (const tc of list(type?.coding)) {
        if (obj(tc) && str(tc.code) && base.c !== undefined) out.push({ ...base, ts: str(tc.system) ? tc.system : undefined, tc: tc.code });
      }
      return out.map(dropUndefined);
    }
    case 'ContactPoint':
      return str(data.value) ? [{ c: data.value }] : [];
    default: {
      // Quantity-like or other complex values used as tokens: code with system if any
      const e = coding(data);
      return e ? [e] : [];
    }
  }
}

function dropUndefined(e: Entry): Entry {
  for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
  return e;
}

function dateEntries(dataType: string, data: unknown): Entry[] {
  if (typeof data === 'string') {
    const r = dateRange(data);
    return r ? [{ lo: r[0], hi: r[1] }] : [];
  }
  if (!obj(data)) return [];
  if (dataType === 'Period') return periodEntry(data);
  if (dataType === 'Timing') {
    // search.html#date: "the specified scheduling details are ignored and only the outer limits
    // matter": one range from the earliest event or bound to the latest, not one per event.
    const parts: Entry[] = [];
    for (const ev of list(data.event)) if (str(ev)) parts.push(...dateEntries('dateTime', ev));
    const rep = obj(data.repeat) ? data.repeat : undefined;
    if (rep && obj(rep.boundsPeriod)) parts.push(...periodEntry(rep.boundsPeriod));
    if (parts.length === 0) return [];
    let lo = Infinity;
    let hi = -Infinity;
    for (const p of parts) {
      lo = Math.min(lo, p.lo as number);
      hi = Math.max(hi, p.hi as number);
    }
    return [{ lo, hi }];
  }
  return [];
}

function periodEntry(p: Obj): Entry[] {
  const s = str(p.start) ? dateRange(p.start) : undefined;
  const e = str(p.end) ? dateRange(p.end) : undefined;
  if (!s && !e) return [];
  return [{ lo: s ? s[0] : MIN_MS, hi: e ? e[1] : MAX_MS }];
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function numberEntries(dataType: string, data: unknown): Entry[] {
  const n = num(data);
  if (n !== undefined) return [{ lo: n, hi: n }];
  if (!obj(data)) return [];
  if (dataType === 'Range') {
    const lo = obj(data.low) ? num(data.low.value) : undefined;
    const hi = obj(data.high) ? num(data.high.value) : undefined;
    if (lo === undefined && hi === undefined) return [];
    return [{ lo: lo ?? -Number.MAX_VALUE, hi: hi ?? Number.MAX_VALUE }];
  }
  const v = num(data.value);
  return v === undefined ? [] : [{ lo: v, hi: v }];
}

function quantityEntries(dataType: string, data: unknown): Entry[] {
  const n = num(data);
  if (n !== undefined) return [{ lo: n, hi: n }];
  if (!obj(data)) return [];
  if (dataType === 'Money') {
    const v = num(data.value);
    if (v === undefined) return [];
    return [dropUndefined({ lo: v, hi: v, s: str(data.currency) ? 'urn:iso:std:iso:4217' : undefined, c: str(data.currency) ? data.currency : undefined })];
  }
  if (dataType === 'Range') {
    const low = obj(data.low) ? data.low : undefined;
    const high = obj(data.high) ? data.high : undefined;
    const lo = num(low?.value);
    const hi = num(high?.value);
    if (lo === undefined && hi === undefined) return [];
    const unit = low ?? high ?? {};
    const entry = dropUndefined({ lo: lo ?? -Number.MAX_VALUE, hi: hi ?? Number.MAX_VALUE, ...units(unit) });
    return [withCanonical(entry, lo, hi)];
  }
  const v = num(data.value);
  if (v === undefined) return [];
  return [withCanonical(dropUndefined({ lo: v, hi: v, ...units(data) }), v, v)];
}

/**
 * Beside the value as written, a UCUM quantity carries its value in UCUM base units (`cu` the
 * canonical unit, `clo`/`chi` the bounds), which searches with a UCUM unit compare on.
 */
function withCanonical(e: Entry, lo: number | undefined, hi: number | undefined): Entry {
  if (e.s !== UCUM_SYSTEM || typeof e.c !== 'string') return e;
  const conv = ucumConverter(e.c);
  if (!conv) return e;
  const clo = lo === undefined ? -Number.MAX_VALUE : conv.convert(lo);
  const chi = hi === undefined ? Number.MAX_VALUE : conv.convert(hi);
  if (Number.isNaN(clo) || Number.isNaN(chi)) return e;
  e.cu = conv.unit;
  e.clo = clo;
  e.chi = chi;
  return e;
}

function units(q: Obj): Entry {
  return {
    s: str(q.system) ? q.system : undefined,
    c: str(q.code) ? q.code : undefined,
    u: str(q.unit) ? q.unit : undefined,
  };
}

const REL_REF = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** A reference as stored and as searched: `Type/id` when it names a resource on this server. */
export function normalizeReference(ref: string, base: string): string {
  if (ref.startsWith('#')) return ref;
  let r = ref;
  // base + '/' tested without building it (this runs for every reference written and searched).
  if (base && r.length > base.length && r.charCodeAt(base.length) === 47 && r.startsWith(base)) r = r.slice(base.length + 1);
  const m = REL_REF.exec(r);
  if (!m) return r;
  // Already Type/id (no _history): the string itself, not a new concatenation of its parts.
  return m[1].length + 1 + m[2].length === r.length ? r : `${m[1]}/${m[2]}`;
}

function referenceEntries(data: unknown, ctx: ValueContext): Entry[] {
  if (typeof data === 'string') return canonicalEntries(data, ctx.base);
  if (!obj(data)) return [];
  const out: Entry[] = [];
  if (str(data.reference)) {
    out.push({ r: normalizeReference(data.reference, ctx.base) });
  }
  return out;
}

function canonicalEntries(url: string, base: string): Entry[] {
  if (!url) return [];
  const bar = url.indexOf('|');
  if (bar < 0) return [{ r: normalizeReference(url, base) }];
  return [{ r: normalizeReference(url.slice(0, bar), base) }, { r: url }];
}

function uriEntries(data: unknown): Entry[] {
  if (typeof data !== 'string' || !data) return [];
  const bar = data.indexOf('|');
  return bar < 0 ? [{ v: data }] : [{ v: data.slice(0, bar) }, { v: data }];
}

/** Reference.identifier, indexed as a token under `<code>:identifier` for the :identifier modifier. */
export function referenceIdentifier(data: unknown): Entry[] {
  if (!obj(data) || !obj(data.identifier)) return [];
  return tokenEntries('Identifier', data.identifier).filter((e) => e.tc === undefined);
}
