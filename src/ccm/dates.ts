// Calendar arithmetic of EP2: every date the engine compares is a local date (YYYY-MM-DD) in the
// practice time zone (default UTC). Date-times must carry Z or an offset; they are converted to
// the zone and their local date is used. Strings compare correctly because of the fixed format.
import { daysInMonth, ZONE } from '../fhir/calendar.js';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
// Hours 00-23 as in R4's dateTime (Date.parse would read 24:00 as midnight of the next day).
/** R4 dateTime with a time (datatypes.html#dateTime): hours 00-23, seconds up to 60 (a leap second), offsets up to 14:00. */
const DATE_TIME = new RegExp(`^(\\d{4})-(\\d{2})-(\\d{2})T([01]\\d|2[0-3]):([0-5]\\d)(?::([0-5]\\d|60)(\\.\\d+)?)?(${ZONE})$`);
const PARTIAL = /^(\d{4})(?:-(\d{2}))?$/;
const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

export const DEFAULT_TIME_ZONE = 'UTC';

export interface LocalMoment {
  /** Local date YYYY-MM-DD in the practice zone. */
  date: string;
  /** Sortable local key: the date for date-only values, `date` + `THH:mm:ss.sss` for date-times. */
  sortKey: string;
  /** Epoch ms for date-times; null for date-only values. */
  instant: number | null;
}

export function isValidMonth(month: string): boolean {
  return MONTH.test(month);
}

export interface MonthBounds {
  start: string;
  end: string;
  year: number;
  lastDay: number;
}

export function monthBounds(month: string): MonthBounds {
  const m = MONTH.exec(month);
  if (!m) throw new RangeError(`month must be YYYY-MM: ${month}`);
  const year = Number(m[1]);
  const lastDay = daysInMonth(year, Number(m[2]));
  return { start: `${month}-01`, end: `${month}-${String(lastDay).padStart(2, '0')}`, year, lastDay };
}

export function isValidDate(value: string): boolean {
  const m = DATE.exec(value);
  if (!m) return false;
  const month = Number(m[2]);
  const day = Number(m[3]);
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(Number(m[1]), month);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    // Throws RangeError for an unknown zone: the caller's configuration is wrong.
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

function localParts(instant: number, timeZone: string): { date: string; time: string } {
  if (timeZone === 'UTC') {
    const iso = new Date(instant).toISOString();
    return { date: iso.slice(0, 10), time: iso.slice(11, 23) };
  }
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(instant))) parts[p.type] = p.value;
  const ms = String(((instant % 1000) + 1000) % 1000).padStart(3, '0');
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}:${parts.second}.${ms}` };
}

/** Digit at i of s, or -1. */
function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

/** Two digits at i of s as a number, or -1. */
function twoDigits(s: string, i: number): number {
  const a = digit(s, i);
  const b = digit(s, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
}

/**
 * The instant of a date-time in its everyday form, YYYY-MM-DDThh:mm[:ss[.f{1,3}]](Z|±hh:mm) with
 * every field in range, read without a regular expression; undefined for anything else (other
 * forms, out-of-range fields, years before 1000), which toLocal reads the general way. The engine
 * converts each time entry's dates several times, and the general way allocates a match array,
 * its strings and a Date per conversion.
 */
function everydayInstant(v: string): number | undefined {
  if (v.length < 17 || v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45 || v.charCodeAt(10) !== 84 || v.charCodeAt(13) !== 58) return undefined;
  const y = twoDigits(v, 0) * 100 + twoDigits(v, 2);
  const mo = twoDigits(v, 5);
  const d = twoDigits(v, 8);
  const h = twoDigits(v, 11);
  const mi = twoDigits(v, 14);
  if (y < 1000 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h < 0 || h > 23 || mi < 0 || mi > 59) return undefined;
  let at = 16;
  let sec = 0;
  let ms = 0;
  if (v.charCodeAt(at) === 58) {
    sec = twoDigits(v, at + 1);
    // 60 is a leap second (R4 allows it): read as the start of the next minute, as Date.UTC does.
    if (sec < 0 || sec > 60) return undefined;
    at += 3;
    if (v.charCodeAt(at) === 46) {
      let scale = 100;
      for (at++; digit(v, at) >= 0; at++) {
        if (scale < 1) return undefined;
        ms += digit(v, at) * scale;
        scale /= 10;
      }
      if (scale === 100) return undefined;
    }
  }
  let offset = 0;
  const z = v.charCodeAt(at);
  if (z === 90 && at + 1 === v.length) offset = 0;
  else if ((z === 43 || z === 45) && at + 6 === v.length && v.charCodeAt(at + 3) === 58) {
    const oh = twoDigits(v, at + 1);
    const om = twoDigits(v, at + 4);
    // R4 offsets run to ±14:00; anything else is no dateTime (and not read the general way either).
    if (oh < 0 || om < 0 || om > 59 || oh > 14 || (oh === 14 && om > 0)) return undefined;
    offset = (z === 45 ? -1 : 1) * (oh * 60 + om) * 60000;
  } else return undefined;
  return Date.UTC(y, mo - 1, d, h, mi, sec, ms) - offset;
}

/** A date or an offset-carrying date-time as a local moment (EP2); null when the value is neither. */
export function toLocal(value: string, timeZone: string = DEFAULT_TIME_ZONE): LocalMoment | null {
  const everyday = everydayInstant(value);
  if (everyday !== undefined) {
    const { date, time } = localParts(everyday, timeZone);
    return { date, sortKey: `${date}T${time}`, instant: everyday };
  }
  if (DATE.test(value)) return isValidDate(value) ? { date: value, sortKey: value, instant: null } : null;
  const m = DATE_TIME.exec(value);
  if (!m || !isValidDate(`${m[1]}-${m[2]}-${m[3]}`)) return null;
  // Date.parse knows no leap second: :60 is read as :59 plus a second.
  const instant = m[6] === '60' ? Date.parse(value.replace(/:60(?=[.Z+-])/, ':59')) + 1000 : Date.parse(value);
  if (Number.isNaN(instant)) return null;
  const { date, time } = localParts(instant, timeZone);
  return { date, sortKey: `${date}T${time}`, instant };
}

/**
 * The local-date interval a value may denote: a full value gives one date, a partial date
 * (YYYY or YYYY-MM, allowed for onset/abatement) gives its first and last day.
 */
export function toLocalRange(value: string, timeZone: string = DEFAULT_TIME_ZONE): { low: string; high: string } | null {
  const p = PARTIAL.exec(value);
  if (p) {
    const year = Number(p[1]);
    if (p[2] === undefined) return { low: `${p[1]}-01-01`, high: `${p[1]}-12-31` };
    const month = Number(p[2]);
    if (month < 1 || month > 12) return null;
    return { low: `${p[1]}-${p[2]}-01`, high: `${p[1]}-${p[2]}-${String(daysInMonth(year, month)).padStart(2, '0')}` };
  }
  const local = toLocal(value, timeZone);
  return local ? { low: local.date, high: local.date } : null;
}

export function inMonth(localDate: string, month: string): boolean {
  return localDate.slice(0, 7) === month;
}

/** The same calendar date one year earlier; 29 February becomes 28 February (R11, EP10). */
export function oneYearBefore(date: string): string {
  const m = DATE.exec(date);
  if (!m) throw new RangeError(`not a date: ${date}`);
  const year = Number(m[1]) - 1;
  const month = Number(m[2]);
  const day = Math.min(Number(m[3]), daysInMonth(year, month));
  return `${String(year).padStart(4, '0')}-${m[2]}-${String(day).padStart(2, '0')}`;
}

export function maxDate(a: string, b: string): string {
  return a >= b ? a : b;
}

/** True when `month` (YYYY-MM) starts after `today` (YYYY-MM-DD, the practice's local date). */
export function isFutureMonth(month: string, today: string): boolean {
  return month > today.slice(0, 7);
}
