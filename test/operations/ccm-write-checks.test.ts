// Write side of the CCM contract (ccm-fhir-contract.md: "a resource that claims one of these roles
// but cannot yield its fact is refused on write by our profiles, with an OperationOutcome naming
// the element"). Each broken resource claims its role only by its CM code (no meta.profile), is
// POSTed on its own (422, the issue's expression names the element, nothing stored) and inside a
// transaction (422, expression prefixed Bundle.entry[i].resource, nothing of the bundle stored).
// The same resources made whole are accepted, so every refusal is the missing fact's.
import type { OperationOutcome } from 'fhir/r4.js';
import t from 'tap';
import { fhir, startServer } from '../helpers/server.js';
import { cm, type Json, timeEntry, UCUM } from './ccm-fixtures.js';

function consent(patient: string, practitioner: string): Json {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'treatment' }] },
    category: [cm('ccm-consent')],
    patient: { reference: patient },
    dateTime: '2025-02-20T10:40:00-05:00',
    performer: [{ reference: practitioner }],
    policyRule: { text: 'Verbal CCM consent documented' },
  };
}

function carePlan(patient: string): Json {
  return {
    resourceType: 'CarePlan',
    status: 'active',
    intent: 'plan',
    category: [cm('ccm-care-plan')],
    subject: { reference: patient },
    created: '2025-02-20',
  };
}

const without = (r: Json, ...keys: string[]): Json => Object.fromEntries(Object.entries(r).filter(([k]) => !keys.includes(k)));

interface Case {
  name: string;
  /** the broken resource, given the patient and practitioner references */
  make(patient: string, practitioner: string): Json;
  /** the element the error issue names (relative to the resource: 'period' -> Encounter.period) */
  element: string;
  /** the constraint key the diagnostics name, when a constraint (not cardinality) refuses it */
  key?: string;
}

const cases: Case[] = [
  {
    name: 'time entry with neither length nor period.end (no minutes)',
    make: (p, pr) => ({ ...without(timeEntry(p, pr), 'length'), period: { start: '2025-03-04T10:00:00-05:00' } }),
    element: 'period',
    key: 'ccm-te-1',
  },
  {
    name: 'time entry with a date-only period and no length (no minutes)',
    make: (p, pr) => ({ ...without(timeEntry(p, pr), 'length'), period: { start: '2025-03-05', end: '2025-03-05' } }),
    element: 'period',
    key: 'ccm-te-1',
  },
  {
    name: 'time entry whose period.start is only a month (no date)',
    make: (p, pr) => ({ ...timeEntry(p, pr), period: { start: '2025-03' } }),
    element: 'period',
    key: 'ccm-te-3',
  },
  {
    name: 'time entry whose length has no code and a unit other than min or h',
    make: (p, pr) => ({ ...timeEntry(p, pr), length: { value: 25, unit: 'minutes' } }),
    element: 'length',
    key: 'ccm-te-2',
  },
  {
    name: 'time entry without period.start (no date)',
    make: (p, pr) => ({ ...timeEntry(p, pr), period: { end: '2025-03-04T10:20:00-05:00' } }),
    element: 'period',
    key: 'ccm-te-3',
  },
  {
    name: 'time entry without period (no date)',
    make: (p, pr) => without(timeEntry(p, pr), 'period'),
    element: 'period',
  },
  {
    name: 'time entry whose length is not in minutes or hours',
    make: (p, pr) => ({ ...timeEntry(p, pr), length: { value: 1200, unit: 's', system: UCUM, code: 's' } }),
    element: 'length',
    key: 'ccm-te-2',
  },
  {
    name: 'time entry with no participant typed clinical-staff or billing-practitioner (no performer)',
    make: (p, pr) => ({ ...timeEntry(p, pr), participant: [{ individual: { reference: pr } }] }),
    element: 'participant[0]',
    key: 'ccm-te-5',
  },
  {
    name: 'time entry without subject',
    make: (p, pr) => without(timeEntry(p, pr), 'subject'),
    element: 'subject',
  },
  {
    name: 'CCM consent without dateTime (no consent date)',
    make: (p, pr) => without(consent(p, pr), 'dateTime'),
    element: 'dateTime',
  },
  {
    name: 'CCM consent dated only to a month (no consent date)',
    make: (p, pr) => ({ ...consent(p, pr), dateTime: '2025-01' }),
    element: 'dateTime',
    key: 'ccm-con-3',
  },
  {
    name: 'CCM consent without patient',
    make: (p, pr) => without(consent(p, pr), 'patient'),
    element: 'patient',
  },
  {
    name: 'CCM care plan without created',
    make: (p) => without(carePlan(p), 'created'),
    element: 'created',
  },
  {
    name: 'CCM care plan dated only to a month',
    make: (p) => ({ ...carePlan(p), created: '2025-01' }),
    element: 'created',
    key: 'ccm-cp-3',
  },
  {
    name: 'CCM care plan with a substantial revision dated only to a month',
    make: (p) => ({ ...carePlan(p), extension: [{ url: 'https://ccm-fhir.org/fhir/StructureDefinition/care-plan-substantial-revision', valueDateTime: '2025-03' }] }),
    element: 'extension[0].value.ofType(dateTime)',
    key: 'ccm-rev-1',
  },
  {
    name: 'CCM care plan without status',
    make: (p) => without(carePlan(p), 'status'),
    element: 'status',
  },
  {
    name: 'CCM care plan with a substantial revision that has no date',
    make: (p) => ({ ...carePlan(p), extension: [{ url: 'https://ccm-fhir.org/fhir/StructureDefinition/care-plan-substantial-revision' }] }),
    element: 'extension[0].value',
  },
];

const errorsOf = (body: OperationOutcome) => (body.issue ?? []).filter((i) => i.severity === 'error' || i.severity === 'fatal');

t.test('CCM resources that cannot yield their fact are refused on write, naming the element', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const patient = await fhir('POST', `${B}/Patient`, { resourceType: 'Patient', birthDate: '1950-01-01' });
  const practitioner = await fhir('POST', `${B}/Practitioner`, { resourceType: 'Practitioner', name: [{ family: 'Okafor' }] });
  t.equal(patient.status, 201);
  t.equal(practitioner.status, 201);
  const P = `Patient/${patient.body.id}`;
  const PR = `Practitioner/${practitioner.body.id}`;
  const count = async (type: string) => (await fhir('GET', `${B}/${type}?_summary=count`)).body.total as number;

  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const r = c.make(P, PR);
      const type = r.resourceType as string;
      const before = await count(type);
      const res = await fhir('POST', `${B}/${type}`, r);
      t.equal(res.status, 422, 'POST refused');
      t.equal(res.body?.resourceType, 'OperationOutcome');
      const errors = errorsOf(res.body);
      const named = errors.filter((i) => i.expression?.[0] === `${type}.${c.element}`);
      t.ok(named.length > 0, `an error issue names ${type}.${c.element}: ${JSON.stringify(errors.map((i) => i.expression))}`);
      if (c.key) t.ok(named.some((i) => i.diagnostics?.includes(c.key!)), `it names the constraint ${c.key}`);
      t.equal(await count(type), before, 'nothing stored');

      // The same resource inside a transaction, after a new Patient it refers to.
      const bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl: 'urn:uuid:5f0e7a52-3c1b-4d7e-9a61-000000000001', resource: { resourceType: 'Patient', birthDate: '1951-06-14' }, request: { method: 'POST', url: 'Patient' } },
          { fullUrl: 'urn:uuid:5f0e7a52-3c1b-4d7e-9a61-000000000002', resource: c.make('urn:uuid:5f0e7a52-3c1b-4d7e-9a61-000000000001', PR), request: { method: 'POST', url: type } },
        ],
      };
      const patientsBefore = await count('Patient');
      const tx = await fhir('POST', B, bundle);
      t.equal(tx.status, 422, 'transaction refused');
      t.equal(tx.body?.resourceType, 'OperationOutcome');
      const txErrors = errorsOf(tx.body);
      const txNamed = txErrors.filter((i) => i.expression?.[0] === `Bundle.entry[1].resource.${c.element}`);
      t.ok(txNamed.length > 0, `an error issue names Bundle.entry[1].resource.${c.element}: ${JSON.stringify(txErrors.map((i) => i.expression))}`);
      if (c.key) t.ok(txNamed.some((i) => i.diagnostics?.includes(c.key!)), `it names the constraint ${c.key}`);
      t.equal(await count(type), before, `no ${type} stored`);
      t.equal(await count('Patient'), patientsBefore, 'the Patient of the bundle not stored either');
    });
  }

  await t.test('the same resources made whole are accepted', async (t) => {
    for (const r of [timeEntry(P, PR), consent(P, PR), carePlan(P)]) {
      const res = await fhir('POST', `${B}/${r.resourceType as string}`, r);
      t.equal(res.status, 201, `${r.resourceType as string} accepted: ${JSON.stringify(errorsOf(res.body ?? {}).map((i) => i.diagnostics))}`);
    }
    // minutes from period.start and period.end (no length), and length in hours (no period.end)
    t.equal((await fhir('POST', `${B}/Encounter`, without(timeEntry(P, PR), 'length'))).status, 201, 'period.start + period.end');
    const hours = { ...timeEntry(P, PR), period: { start: '2025-03-05' }, length: { value: 0.5, unit: 'h', system: UCUM, code: 'h' } };
    t.equal((await fhir('POST', `${B}/Encounter`, hours)).status, 201, 'date-only start + length in h');
    // length read as the engine reads it: its code, or its unit when it has no code
    const unitOnly = { ...timeEntry(P, PR), length: { value: 20, unit: 'min' } };
    t.equal((await fhir('POST', `${B}/Encounter`, unitOnly)).status, 201, 'length with unit min and no code');
    const dated = { ...carePlan(P), extension: [{ url: 'https://ccm-fhir.org/fhir/StructureDefinition/care-plan-substantial-revision', valueDateTime: '2025-03-15' }] };
    t.equal((await fhir('POST', `${B}/CarePlan`, dated)).status, 201, 'a revision dated to the day');
    t.equal((await fhir('POST', `${B}/Consent`, { ...consent(P, PR), dateTime: '2025-02-20' })).status, 201, 'a date-only consent');
  });
});
