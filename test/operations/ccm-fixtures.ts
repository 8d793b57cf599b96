// Resources shared by the CCM operation tests.

export const CM = 'https://ccm-fhir.org/fhir/CodeSystem/care-management';
export const UCUM = 'http://unitsofmeasure.org';
export const cm = (code: string) => ({ coding: [{ system: CM, code }] });
export type Json = Record<string, unknown>;

/** A valid care-management time entry: 20 minutes of clinical staff on 4 March 2025, billed by `practitioner`. */
export function timeEntry(patient: string, practitioner: string): Json {
  return {
    resourceType: 'Encounter',
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR' },
    type: [cm('care-management-time'), cm('medication-management')],
    subject: { reference: patient },
    period: { start: '2025-03-04T10:00:00-05:00', end: '2025-03-04T10:20:00-05:00' },
    length: { value: 20, unit: 'min', system: UCUM, code: 'min' },
    participant: [
      { type: [cm('clinical-staff')] },
      { type: [cm('billing-practitioner')], individual: { reference: practitioner } },
    ],
  };
}

/** Sets CCM_TIME_ZONE for the rest of test `t` (restored at its teardown). */
export function practiceZone(t: { teardown(fn: () => unknown): void }, zone: string): void {
  const saved = process.env.CCM_TIME_ZONE;
  t.teardown(() => {
    if (saved === undefined) delete process.env.CCM_TIME_ZONE;
    else process.env.CCM_TIME_ZONE = saved;
  });
  process.env.CCM_TIME_ZONE = zone;
}
