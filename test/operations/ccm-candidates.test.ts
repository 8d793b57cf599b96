// System-level $ccm-billing finds its candidates with `Encounter?date=ge{day before the month}&
// date=le{day after}` (src/operations/ccm-candidates.ts). FHIR R4 search.html (date prefixes):
// ge/le on a Period match when the ranges overlap, so a time entry whose UTC instant lies in the
// previous (or next) month but whose practice-local date is in the month is still a candidate,
// and the engine decides by the local date. The patient has no CCM consent, so only the time
// entry can make it a candidate.
import type { Parameters } from 'fhir/r4.js';
import t from 'tap';
import { fhir, startServer } from '../helpers/server.js';
import { practiceZone, timeEntry } from './ccm-fixtures.js';

const patientsOf = (p: Parameters) =>
  (p.parameter ?? [])
    .filter((x) => x.name === 'patient')
    .map((x) => x.part?.find((q) => q.name === 'subject')?.valueReference?.reference)
    .sort();

t.test('a time entry local to the month but in the neighbouring UTC month makes its patient a candidate', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const doc = await fhir('POST', `${B}/Practitioner`, { resourceType: 'Practitioner', name: [{ family: 'Doc' }] });
  const early = await fhir('POST', `${B}/Patient`, { resourceType: 'Patient', birthDate: '1950-01-01' });
  const late = await fhir('POST', `${B}/Patient`, { resourceType: 'Patient', birthDate: '1950-01-01' });
  const doctor = `Practitioner/${doc.body.id}`;
  const earlyRef = `Patient/${early.body.id}`;
  const lateRef = `Patient/${late.body.id}`;
  // 2025-02-28T20:00Z is 1 March 05:00 in Tokyo; 2025-03-31T20:00Z is 1 April 05:00 there.
  for (const [ref, start, end] of [
    [earlyRef, '2025-02-28T20:00:00Z', '2025-02-28T20:20:00Z'],
    [lateRef, '2025-03-31T20:00:00Z', '2025-03-31T20:20:00Z'],
  ]) {
    const res = await fhir('POST', `${B}/Encounter`, { ...timeEntry(ref, doctor), period: { start, end } });
    t.equal(res.status, 201, JSON.stringify(res.body));
  }
  practiceZone(t, 'Asia/Tokyo');
  const march = await fhir('GET', `${B}/$ccm-billing?month=2025-03`);
  t.equal(march.status, 200, JSON.stringify(march.body));
  // An entry belongs to the month of its local date in the practice zone (EP2), however it is
  // written: the entry of 31 March UTC is April work in Tokyo, so it makes no March candidate.
  t.same(patientsOf(march.body as Parameters), [earlyRef], 'March (Tokyo): the entry of 28 February UTC (1 March local) is found');
  const april = await fhir('GET', `${B}/$ccm-billing?month=2025-04`);
  t.same(patientsOf(april.body as Parameters), [lateRef], 'April (Tokyo): the entry of 31 March UTC (1 April local) is found');
});
