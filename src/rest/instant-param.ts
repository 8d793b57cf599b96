import { badRequest } from '../fhir/errors.js';

/**
 * A FHIR date/dateTime/instant query value as the [lo, hi] range of epoch ms it covers
 * (`2020` covers the whole year). Without a zone, times are read as UTC.
 */
export function parseInstantParam(value: string, name: string): { lo: number; hi: number } {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/.exec(value);
  if (!m) throw badRequest(`${name} must be a FHIR date, dateTime or instant (got '${value.slice(0, 40)}')`, 'value');
  const [, y, mo, d, h, mi, sec, frac, tz] = m;
  const offsetMs = tz && tz !== 'Z' ? (tz[0] === '-' ? -1 : 1) * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6))) * 60000 : 0;
  const Y = Number(y);
  if (mo === undefined) return { lo: Date.UTC(Y, 0, 1), hi: Date.UTC(Y + 1, 0, 1) - 1 };
  const M = Number(mo) - 1;
  if (M < 0 || M > 11) throw badRequest(`${name}: month out of range in '${value}'`, 'value');
  if (d === undefined) return { lo: Date.UTC(Y, M, 1), hi: Date.UTC(Y, M + 1, 1) - 1 };
  const D = Number(d);
  if (D < 1 || D > new Date(Date.UTC(Y, M + 1, 0)).getUTCDate()) throw badRequest(`${name}: day out of range in '${value}'`, 'value');
  if (h === undefined) return { lo: Date.UTC(Y, M, D), hi: Date.UTC(Y, M, D + 1) - 1 };
  const H = Number(h);
  const Mi = Number(mi);
  const S = sec === undefined ? 0 : Number(sec);
  if (H > 23 || Mi > 59 || S > 59) throw badRequest(`${name}: time out of range in '${value}'`, 'value');
  const ms = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
  const lo = Date.UTC(Y, M, D, H, Mi, S, ms) - offsetMs;
  const width = sec === undefined ? 60000 : frac ? 1 : 1000;
  return { lo, hi: lo + width - 1 };
}

/** FHIR instant: to the second at least, with a zone (datatypes.html#instant). */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/** An `instant` parameter (an operation's `_since`): refused (400) unless it is one; its range as parseInstantParam gives it. */
export function parseInstant(value: string, name: string, where = name): { lo: number; hi: number } {
  if (!INSTANT.test(value)) throw badRequest(`${name} must be an instant, with seconds and a time zone (got '${value.slice(0, 40)}')`, 'value', where);
  return parseInstantParam(value, name);
}
