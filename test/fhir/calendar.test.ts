import t from 'tap';
import { daysInMonth } from '../../src/fhir/calendar.js';

t.test('days in a month, leap years by the Gregorian rule, years taken literally', async (t) => {
  t.equal(daysInMonth(2021, 1), 31);
  t.equal(daysInMonth(2021, 4), 30);
  t.equal(daysInMonth(2021, 2), 28);
  t.equal(daysInMonth(2020, 2), 29, 'divisible by 4');
  t.equal(daysInMonth(2100, 2), 28, 'a century');
  t.equal(daysInMonth(2000, 2), 29, 'divisible by 400');
  t.equal(daysInMonth(4, 2), 29, 'year 4, not 1904 read by Date.UTC');
  t.equal(daysInMonth(1, 12), 31);
  for (const month of [0, 13, -1]) t.equal(daysInMonth(2020, month), 0, `month ${month} has no days`);
});
