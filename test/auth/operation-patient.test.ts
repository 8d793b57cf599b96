import t from 'tap';
import { startAuthServer, type AuthTestServer } from './helpers.js';

// The access check reads a CCM operation's `patient` parameters in every form the operation reads.
let s: AuthTestServer;
let B: string;

t.before(async () => {
  s = await startAuthServer();
  B = s.base;
  const admin = await s.token({ scope: 'system/*.cruds', client_id: 'admin' });
  for (const id of ['pa', 'pb']) {
    const res = await s.as(admin, 'PUT', `${B}/Patient/${id}`, { resourceType: 'Patient', id });
    if (res.status >= 300) throw new Error(`seed Patient/${id}: ${res.status} ${res.text}`);
  }
});
t.teardown(() => s.close());

t.test('CCM operations: another patient in any value form the operation reads is a 403', async (t) => {
  const pa = await s.token({ scope: 'patient/*.rs', patient: 'pa' });
  const body = (value: Record<string, unknown>) => ({ resourceType: 'Parameters', parameter: [{ name: 'month', valueString: '2025-03' }, { name: 'patient', ...value }] });
  const forms: Array<Record<string, unknown>> = [
    { valueCode: 'pb' },
    { valueUri: 'Patient/pb' },
    { valueDate: 'pb' },
    { valueId: 'pb' },
    { valueString: 'https://elsewhere.example/fhir/Patient/pb/_history/2' },
    { valueReference: { reference: 'Patient/pb' } },
  ];
  for (const op of ['$ccm-billing', 'Patient/$ccm-eligibility']) {
    for (const form of forms) {
      const r = await s.as(pa, 'POST', `${B}/${op}`, body(form));
      t.equal(r.status, 403, `${op} ${JSON.stringify(form)}`);
      t.match(r.body.issue?.[0]?.diagnostics, /limited to patient pa/);
    }
  }
  // Only $ccm-billing takes patient at system level (Patient/$ccm-eligibility refuses it with a 400 once the check allows it).
  for (const form of [{ valueCode: 'pa' }, { valueUri: 'Patient/pa' }, { valueString: 'Patient/pa/_history/1' }]) {
    t.equal((await s.as(pa, 'POST', `${B}/$ccm-billing`, body(form))).status, 200, `the own patient: ${JSON.stringify(form)}`);
  }
  t.equal((await s.as(pa, 'GET', `${B}/Patient/$ccm-eligibility?month=2025-03&patient=Patient/pb/_history/1`)).status, 403, 'query: a versioned reference');
});
