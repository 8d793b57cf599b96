// CCM_TIME_ZONE (src/operations/ccm-config.ts): default UTC, an IANA zone as given, an unknown zone
// is a server error naming the setting (500 from the operations); "today" is the practice's local date.
import t from 'tap';
import { ccmTimeZone, practiceToday } from '../../src/operations/ccm-config.js';
import { FhirError } from '../../src/fhir/errors.js';
import { fhir, startServer } from '../helpers/server.js';
import { practiceZone } from './ccm-fixtures.js';

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

t.test('an unknown CCM_TIME_ZONE: the operations answer 500 naming the setting', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const patient = await fhir('POST', `${srv.base}/Patient`, { resourceType: 'Patient', birthDate: '1950-01-01' });
  practiceZone(t, 'Mars/Olympus_Mons');
  const res = await fhir('GET', `${srv.base}/Patient/${patient.body.id}/$ccm-billing?month=2025-03`);
  t.equal(res.status, 500);
  t.equal(res.body?.resourceType, 'OperationOutcome');
  t.match(JSON.stringify(res.body), /CCM_TIME_ZONE 'Mars\/Olympus_Mons'/);
});
