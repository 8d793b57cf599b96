import { daysInMonth, ZONE } from '../fhir/calendar.js';

/**
 * FHIR dates of every precision as inclusive [low, high] epoch-millisecond ranges: "2020" is the
 * whole year, "2020-03-01T10:00" the whole minute. Values without a time zone are read as UTC
 * (the spec leaves them to the server's local time; UTC keeps results machine-independent).
 */
export type Range = readonly [lo: number, hi: number];

/** Sentinels for open-ended periods (the limits of a JS Date), JSON-safe unlike Infinity. */
export const MIN_MS = -8.64e15;
export const MAX_MS = 8.64e15;

/**
 * Any precision, populated from the left, but "the minutes SHALL be present if an hour is
 * present" (search.html#date); seconds are optional; a zone only as R4's dateTime has it.
 */
const DATE_RE = new RegExp(`^(\\d{4})(?:-(\\d{2})(?:-(\\d{2})(?:T(\\d{2}):(\\d{2})(?::(\\d{2})(?:\\.(\\d+))?)?(${ZONE})?)?)?)?$`);

export function dateRange(value: string): Range | undefined {
  const m = DATE_RE.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const year = Number(y);
  const month = mo ? Number(mo) - 1 : 0;
  const day = d ? Number(d) : 1;
  const hour = h ? Number(h) : 0;
  const minute = mi ? Number(mi) : 0;
  const second = s ? Number(s) : 0;
  if (day < 1 || day > daysInMonth(year, month + 1) || hour > 23 || minute > 59 || second > 60) return undefined;
  const digits = frac ? Math.min(frac.length, 3) : 0;
  const ms = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
  let offset = 0;
  if (tz && tz !== 'Z') {
    const sign = tz[0] === '-' ? -1 : 1;
    offset = sign * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6))) * 60000;
  }
  const lo = utc(year, month, day, hour, minute, second, ms) - offset;
  if (Number.isNaN(lo)) return undefined;
  let next: number;
  if (!mo) next = utc(year + 1, 0, 1) - offset;
  else if (!d) next = utc(year, month + 1, 1) - offset;
  else if (!h) next = utc(year, month, day + 1) - offset;
  else if (!s) next = lo + 60000;
  else if (!frac) next = lo + 1000;
  else next = lo + 10 ** (3 - digits);
  return [lo, next - 1];
}

/** Date.UTC without its mapping of years 0-99 to 1900+ (FHIR years are literal). */
function utc(y: number, m: number, d: number, h = 0, mi = 0, s = 0, ms = 0): number {
  const dt = new Date(0);
  dt.setUTCFullYear(y, m, d);
  dt.setUTCHours(h, mi, s, ms);
  return dt.getTime();
}
