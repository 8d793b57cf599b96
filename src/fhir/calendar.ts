const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Days in a month (1-12) of a proleptic Gregorian year, taken literally (Date.UTC would read
 * years 0-99 as 1900-1999); 0 for a month that does not exist, so no day fits in it.
 * Shared by search values, index values and the validator's primitive check.
 */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return MONTH_DAYS[month - 1] ?? 0;
}

/**
 * The time zone of an R4 dateTime or instant (datatypes.html#dateTime): Z, or an offset up to
 * ±14:00 with minutes 00-59. A regular-expression source, shared by search values and the CCM
 * dates.
 */
export const ZONE = 'Z|[+-](?:(?:0\\d|1[0-3]):[0-5]\\d|14:00)';
