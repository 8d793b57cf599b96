// Minute arithmetic. A time entry's minutes are the number it states (length in UCUM min, or h x
// 60), fractions included; only the period fallback counts whole minutes (ccm-fhir-contract.md).
// Totals are compared with the thresholds as they are (R28: what falls short of a threshold is
// lost, not each entry's fraction). Binary floating point would put 0.1 h at 6.000000000000001
// minutes or a sum of tenths a hair below 20, so every sum is brought back to the millionth of a
// minute (60 µs), far below any recorded precision: arithmetic hygiene, not a rounding rule.

/** A number of minutes to the millionth. */
export const roundMinutes = (minutes: number): number => Math.round(minutes * 1e6) / 1e6;

/** The sum of minutes, to the millionth. */
export const sumMinutes = (values: Iterable<number>): number => {
  let total = 0;
  for (const v of values) total += v;
  return roundMinutes(total);
};

/** Whole minutes for a valueInteger output: a total counted so far, rounded down (never more than was spent). */
export const wholeMinutes = (minutes: number): number => Math.floor(roundMinutes(minutes));
