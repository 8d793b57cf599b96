// The CCM operations over all patients find their candidates through the store's `distinct`,
// which the access-token view narrows as it narrows find: a patient-confined token sees its own
// patient only, a query-restricted grant only the values of the rows it may see.
import t from 'tap';
import type { Parameters } from 'fhir/r4.js';
import { startAuthServer, type AuthTestServer } from '../auth/helpers.js';

const CATEGORY = 'http://terminology.hl7.org/CodeSystem/condition-category';
const TYPES = ['Patient', 'Coverage', 'Condition', 'Consent', 'CarePlan', 'Encounter', 'Procedure', 'ChargeItem'];
const hypertension = (id: string, patient: string, category: string) => ({
  resourceType: 'Condition',
  id,
  subject: { reference: `Patient/${patient}` },
  clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
  verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
  onsetDateTime: '2012-09-03',
  category: [{ coding: [{ system: CATEGORY, code: category }] }],
  code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'I10' }] },
});

let s: AuthTestServer;
t.before(async () => {
  s = await startAuthServer();
  const admin = await s.token({ scope: 'system/*.cruds', client_id: 'admin' });
  for (const r of [
    { resourceType: 'Patient', id: 'ca' },
    { resourceType: 'Patient', id: 'cb' },
    hypertension('ca-1', 'ca', 'problem-list-item'),
    hypertension('cb-1', 'cb', 'problem-list-item'),
  ]) {
    const res = await s.as(admin, 'PUT', `${s.base}/${r.resourceType}/${r.id}`, r);
    if (res.status >= 300) throw new Error(`seed ${r.resourceType}/${r.id}: ${res.status} ${res.text}`);
  }
});
t.teardown(() => s.close());

/** The patients Patient/$ccm-eligibility lists for a token. */
async function listed(scope: string, patient?: string): Promise<string[]> {
  const token = await s.token({ scope, ...(patient ? { patient } : {}) });
  const r = await s.as(token, 'GET', `${s.base}/Patient/$ccm-eligibility?month=2025-03`);
  if (r.status !== 200) throw new Error(`${r.status} ${r.text}`);
  return ((r.body as Parameters).parameter ?? [])
    .filter((p) => p.name === 'patient')
    .map((p) => p.part!.find((x) => x.name === 'subject')!.valueReference!.reference!);
}

t.test('candidates as each token sees them', async (t) => {
  t.strictSame(await listed('system/*.rs'), ['Patient/ca', 'Patient/cb'], 'a token that sees everything');
  t.strictSame(await listed(TYPES.map((x) => `system/${x}.rs`).join(' ')), ['Patient/ca', 'Patient/cb'], 'type by type grants');
  t.strictSame(await listed('patient/*.rs', 'ca'), ['Patient/ca'], 'patient-confined: its own patient only');
  const restricted = (category: string) =>
    [...TYPES.filter((x) => x !== 'Condition').map((x) => `patient/${x}.rs`), `patient/Condition.rs?category=${encodeURIComponent(`${CATEGORY}|${category}`)}`].join(' ');
  t.strictSame(await listed(restricted('problem-list-item'), 'ca'), ['Patient/ca'], 'query-restricted grant that covers the Condition');
  t.strictSame(await listed(restricted('encounter-diagnosis'), 'ca'), [], 'query-restricted grant that hides it');
});
