// CCM_TIME_ZONE (src/operations/ccm-config.ts): default UTC, an IANA zone as given, an unknown zone
// is a server error naming the setting; "today" is the practice's local date.
import t from 'tap';
import { ccmTimeZone, practiceToday } from '../../src/operations/ccm-config.js';
import { FhirError } from '../../src/fhir/errors.js';

t.test('CCM_TIME_ZONE', async (t) => {
  t.equal(ccmTimeZone({}), 'UTC', 'unset: UTC');
  t.equal(ccmTimeZone({ CCM_TIME_ZONE: '  ' }), 'UTC', 'empty: UTC');
  t.equal(ccmTimeZone({ CCM_TIME_ZONE: 'America/Chicago' }), 'America/Chicago');
  let err: unknown;
  try {
    ccmTimeZone({ CCM_TIME_ZONE: 'Mars/Olympus_Mons' });
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof FhirError && err.status === 500, 'unknown zone: 500');
  t.match((err as Error).message, /CCM_TIME_ZONE 'Mars\/Olympus_Mons' is not a known IANA time zone/);
});

t.test('today in the practice time zone', async (t) => {
  // 2025-03-01T03:30Z is still 28 February in Chicago (UTC-6 in winter) and already 1 March in UTC.
  const now = new Date('2025-03-01T03:30:00Z');
  t.equal(practiceToday(now, {}), '2025-03-01');
  t.equal(practiceToday(now, { CCM_TIME_ZONE: 'America/Chicago' }), '2025-02-28');
  t.equal(practiceToday(new Date('2025-02-28T23:30:00Z'), { CCM_TIME_ZONE: 'Asia/Tokyo' }), '2025-03-01');
});
