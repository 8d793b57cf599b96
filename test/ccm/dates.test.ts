import t from 'tap';
import { toLocal } from '../../src/ccm/dates.js';
import { daysInMonth } from '../../src/fhir/calendar.js';

/**
 * What toLocal promises for a date-time in the UTC zone (EP2), stated independently of how it
 * reads the value: the R4 dateTime shape with an offset (datatypes.html#dateTime: hours 00-23,
 * seconds up to 60, offsets up to ±14:00; seconds may be left out, which stored data that passed
 * validation never does), a real calendar date, then the instant ECMAScript's Date.parse gives
 * (a leap second :60 as :59 plus one second) and that instant's UTC date and time.
 */
function expected(v: string): { date: string; sortKey: string; instant: number } | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d|60)(\.\d+)?)?(Z|[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00))$/.exec(v);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1 || d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return null;
  const instant = m[6] === '60' ? Date.parse(v.replace(':60', ':59')) + 1000 : Date.parse(v);
  if (Number.isNaN(instant)) return null;
  const iso = new Date(instant).toISOString();
  return { date: iso.slice(0, 10), sortKey: `${iso.slice(0, 10)}T${iso.slice(11, 23)}`, instant };
}

t.test('date-times read as ECMAScript reads them, across the edges of every field', async (t) => {
  const dates = ['2025-03-01', '2024-02-29', '2025-02-29', '2025-02-30', '2025-12-31', '2025-13-01', '2025-00-10', '1999-01-00', '0099-06-01', '0999-06-01', '1000-01-01', '9999-12-31'];
  const times = ['00:00', '23:59', '24:00', '12:60', '10:00:00', '10:00:59', '10:00:60', '10:00:00.1', '10:00:00.12', '10:00:00.123', '10:00:00.1234', '10:00:00.', '10:00:5'];
  const zones = ['Z', '+00:00', '-05:00', '+05:30', '+13:59', '+14:00', '-14:00', '+14:01', '-12:00', '+15:00', '+23:59', '+24:00', '-05:60', '-0500', 'z', ''];
  let checked = 0;
  let valid = 0;
  for (const d of dates) {
    for (const time of times) {
      for (const z of zones) {
        const v = `${d}T${time}${z}`;
        const want = expected(v);
        t.same(toLocal(v, 'UTC'), want, v);
        checked++;
        if (want) valid++;
      }
    }
  }
  t.ok(valid > 300 && valid < checked, `${valid} of ${checked} values are date-times`);
});

t.test('dates and other forms keep their reading', async (t) => {
  t.same(toLocal('2025-03-04', 'UTC'), { date: '2025-03-04', sortKey: '2025-03-04', instant: null });
  t.equal(toLocal('2025-02-30', 'UTC'), null);
  t.equal(toLocal('2025-03', 'UTC'), null);
  t.equal(toLocal('2025-03-04T10:00', 'UTC'), null, 'a time without an offset is refused (EP2)');
  t.equal(toLocal('2025-03-04 10:00:00Z', 'UTC'), null);
  // R4 dateTime hours are 00-23: 24:00 on 31 March is no time, not midnight of 1 April (which
  // Date.parse makes of it, moving a time entry into the next month).
  t.equal(toLocal('2025-03-31T24:00:00Z', 'UTC'), null);
  t.equal(toLocal('2025-03-31T24:00:00-05:00', 'America/New_York'), null);
  // Offsets beyond ±14:00 are no R4 dateTime (Date.parse reads +23:59); a leap second is one.
  t.equal(toLocal('2025-03-31T10:00:00+23:59', 'UTC'), null);
  t.same(toLocal('2016-12-31T23:59:60Z', 'UTC')!.instant, Date.UTC(2017, 0, 1));
  // The practice zone decides the local date: 23:30 in New York on 31 March is 1 April in UTC.
  t.same(toLocal('2025-03-31T23:30:00-04:00', 'America/New_York'), { date: '2025-03-31', sortKey: '2025-03-31T23:30:00.000', instant: Date.UTC(2025, 3, 1, 3, 30) });
  t.same(toLocal('2025-03-31T23:30:00-04:00', 'UTC')!.date, '2025-04-01');
});

t.test('days in a month: the Gregorian leap rules', async (t) => {
  const viaDate = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();
  for (const y of [100, 1900, 1999, 2000, 2023, 2024, 2025, 2100, 2400, 9999]) {
    for (let m = 1; m <= 12; m++) t.equal(daysInMonth(y, m), viaDate(y, m), `${y}-${m}`);
  }
});
