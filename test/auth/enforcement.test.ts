import t from 'tap';
import { generateKeyPair } from 'jose';
import { fhir } from '../helpers/server.js';
import { type AuthTestServer, condition, ids, PL, seeder, startAuthServer } from './helpers.js';

let s: AuthTestServer;
let admin: string;
let B: string;

t.before(async () => {
  s = await startAuthServer();
  B = s.base;
  admin = await s.token({ scope: 'system/*.cruds', client_id: 'admin' });
  const put = seeder(s, admin);
  await put({ resourceType: 'Practitioner', id: 'pr1' } as never);
  await put({ resourceType: 'Patient', id: 'pa', name: [{ family: 'Alpha', given: ['Alice'] }], generalPractitioner: [{ reference: 'Practitioner/pr1' }] } as never);
  await put({ resourceType: 'Patient', id: 'pb', name: [{ family: 'Beta', given: ['Bob'] }] } as never);
  await put(condition('ca1', 'pa', 'problem-list-item', '111'));
  await put(condition('ca2', 'pa', 'encounter-diagnosis', '112'));
  await put(condition('cb1', 'pb', 'problem-list-item', '221'));
});
t.teardown(() => s.close());

t.test('authentication: 401 with a Bearer challenge, public endpoints stay public', async (t) => {
  const none = await fhir('GET', `${B}/Condition`);
  t.equal(none.status, 401);
  t.match(String(none.headers['www-authenticate']), /^Bearer realm=/);
  t.equal(none.body.resourceType, 'OperationOutcome');
  t.equal(none.body.issue[0].code, 'login');
  t.equal((await fhir('GET', `${B}/metadata`)).status, 200, 'metadata is public');
  t.equal((await fhir('GET', `${B}/$versions`)).status, 200, '$versions is public, as metadata is');
  t.equal((await fhir('GET', `${B}/.well-known/smart-configuration`)).status, 200, 'smart-configuration is public');
  t.equal((await fhir('GET', B.replace(/\/fhir$/, '/healthz'))).status, 200, 'healthz is public');
  t.equal((await fhir('GET', B.replace(/\/fhir$/, '/readyz'))).status, 200, 'readyz is public');

  const ok = await s.token({ scope: 'system/Condition.rs' });
  t.equal((await s.as(ok, 'GET', `${B}/Condition`)).status, 200, 'a valid token is accepted');
  const cases: Array<[string, Promise<string>]> = [
    ['wrong audience', s.token({ scope: 'system/Condition.rs' }, { aud: 'https://other.example/fhir' })],
    ['wrong issuer', s.token({ scope: 'system/Condition.rs' }, { iss: 'https://evil.example/' })],
    ['expired (beyond the clock skew)', s.token({ scope: 'system/Condition.rs' }, { exp: Math.floor(Date.now() / 1000) - 120 })],
    ['not valid yet (nbf beyond the clock skew)', s.token({ scope: 'system/Condition.rs', nbf: Math.floor(Date.now() / 1000) + 120 })],
    ['signed by another key', generateKeyPair('RS256').then(({ privateKey }) => s.token({ scope: 'system/Condition.rs' }, { key: privateKey }))],
    ['alg none', Promise.resolve(unsigned({ iss: 'https://idp.test.example/', aud: B, exp: Math.floor(Date.now() / 1000) + 60, scope: 'system/*.cruds' }))],
    ['HMAC', hmac({ iss: 'https://idp.test.example/', aud: B, exp: Math.floor(Date.now() / 1000) + 60, scope: 'system/*.cruds' })],
    ['not a JWT', Promise.resolve('abc.def')],
  ];
  for (const [name, tok] of cases) {
    const r = await s.as(await tok, 'GET', `${B}/Condition`);
    t.equal(r.status, 401, `${name}: 401`);
    t.match(String(r.headers['www-authenticate']), /error="invalid_token"/, `${name}: invalid_token`);
  }
  const nearlyExpired = await s.token({ scope: 'system/Condition.rs' }, { exp: Math.floor(Date.now() / 1000) - 5 });
  t.equal((await s.as(nearlyExpired, 'GET', `${B}/Condition`)).status, 200, 'a token expired within the clock skew is still accepted');
  const nearlyValid = await s.token({ scope: 'system/Condition.rs', nbf: Math.floor(Date.now() / 1000) + 5 });
  t.equal((await s.as(nearlyValid, 'GET', `${B}/Condition`)).status, 200, 'a token valid within the clock skew is accepted');
});

t.test('scopes v1 and v2: each interaction needs its permission', async (t) => {
  const rs = await s.token({ scope: 'system/Condition.rs' });
  t.equal((await s.as(rs, 'GET', `${B}/Condition/ca1`)).status, 200, 'read with .rs');
  const p = await s.as(rs, 'GET', `${B}/Patient`);
  t.equal(p.status, 403, 'search on a type outside the scopes');
  t.equal(p.body.issue[0].code, 'forbidden');
  t.equal((await s.as(rs, 'POST', `${B}/Condition`, condition('x', 'pa', 'problem-list-item', '1'))).status, 403, 'create needs c');
  t.equal((await s.as(rs, 'DELETE', `${B}/Condition/ca1`)).status, 403, 'delete needs d');

  const r = await s.token({ scope: 'system/Condition.r' });
  t.equal((await s.as(r, 'GET', `${B}/Condition/ca1`)).status, 200, 'read with .r');
  t.equal((await s.as(r, 'GET', `${B}/Condition`)).status, 403, 'search needs s');

  const v1 = await s.token({ scope: 'system/Condition.read' });
  t.equal((await s.as(v1, 'GET', `${B}/Condition`)).status, 200, 'v1 .read allows search');
  t.equal((await s.as(v1, 'PUT', `${B}/Condition/ca1`, condition('ca1', 'pa', 'problem-list-item', '111'))).status, 403, 'v1 .read does not allow update');
  const w = await s.token({ scope: 'user/*.*', fhirUser: 'Practitioner/pr1' });
  t.equal((await s.as(w, 'PUT', `${B}/Condition/ca1`, condition('ca1', 'pa', 'problem-list-item', '111'))).status, 200, "v1 user/*.* allows update (of the user's patient)");
  const noUser = await s.as(await s.token({ scope: 'user/*.*' }), 'GET', `${B}/Condition/ca1`);
  t.equal(noUser.status, 403, 'user/ scopes without a fhirUser claim reach nothing (test/auth/user-access.test.ts has the rest)');
  t.match(noUser.body.issue[0].diagnostics, /fhirUser/);

  const inc = await s.as(rs, 'GET', `${B}/Condition?_include=Condition:subject`);
  t.equal(inc.status, 200);
  t.same(ids(inc.body).filter((x) => x.startsWith('Patient/')), [], '_include leaves out types the token cannot read');
  // A batch's entries are independent (http.html#transaction): one outside the scopes is refused alone.
  const batch = await s.as(rs, 'POST', B, { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Patient/pa' } }, { request: { method: 'GET', url: 'Condition/ca1' } }] });
  t.equal(batch.status, 200);
  t.equal(batch.body.entry[0].response.status, '403', 'a batch entry outside the scopes is refused');
  t.equal(batch.body.entry[0].response.outcome.issue[0].code, 'forbidden');
  t.match(batch.body.entry[0].response.outcome.issue[0].diagnostics, /Bundle\.entry\[0\].*scopes do not allow/);
  t.equal(batch.body.entry[1].response.status, '200', 'the entry inside them runs');
  const tx = await s.as(rs, 'POST', B, { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'GET', url: 'Patient/pa' } }, { request: { method: 'GET', url: 'Condition/ca1' } }] });
  t.equal(tx.status, 403, 'a transaction with such an entry is refused whole');
});

t.test('patient/ scopes: confined to the patient compartment', async (t) => {
  const pa = await s.token({ scope: 'patient/*.rs', patient: 'pa' });
  t.equal((await s.as(pa, 'GET', `${B}/Condition/ca1`)).status, 200, 'own condition: read');
  t.equal((await s.as(pa, 'GET', `${B}/Condition/cb1`)).status, 404, "other patient's condition: read refused (404, existence not revealed)");
  t.equal((await s.as(pa, 'GET', `${B}/Patient/pa`)).status, 200, 'own Patient');
  t.equal((await s.as(pa, 'GET', `${B}/Patient/pb`)).status, 403, 'other Patient refused');
  t.equal((await s.as(pa, 'GET', `${B}/Condition/cb1/_history/1`)).status, 404, "other patient's vread refused");

  const search = await s.as(pa, 'GET', `${B}/Condition`);
  t.same(ids(search.body), ['Condition/ca1', 'Condition/ca2'], 'search: own conditions only');
  // Without a patient claim, patient/ scopes grant nothing, and the 403 says why.
  const unlaunched = await s.as(await s.token({ scope: 'patient/*.rs' }), 'GET', `${B}/Condition`);
  t.equal(unlaunched.status, 403);
  t.match(unlaunched.body.issue[0].diagnostics, /patient\/ scopes need a 'patient' claim/);
  t.equal(search.body.total, 2, 'total counts own conditions only');
  const explicit = await s.as(pa, 'GET', `${B}/Condition?subject=Patient/pb`);
  t.same(ids(explicit.body), [], "search naming the other patient finds nothing");
  const patients = await s.as(pa, 'GET', `${B}/Patient`);
  t.same(ids(patients.body), ['Patient/pa'], 'Patient search: self only');

  const inc = await s.as(pa, 'GET', `${B}/Condition?_include=Condition:subject`);
  t.same(ids(inc.body), ['Condition/ca1', 'Condition/ca2', 'Patient/pa'], '_include: own patient only');
  const rev = await s.as(pa, 'GET', `${B}/Patient?_revinclude=Condition:subject`);
  t.same(ids(rev.body), ['Condition/ca1', 'Condition/ca2', 'Patient/pa'], '_revinclude: own conditions only');
  const revOther = await s.as(pa, 'GET', `${B}/Patient?_id=pb&_revinclude=Condition:subject`);
  t.same(ids(revOther.body), [], "_revinclude from the other patient: nothing");

  const chainOwn = await s.as(pa, 'GET', `${B}/Condition?subject:Patient.family=Alpha`);
  t.same(ids(chainOwn.body), ['Condition/ca1', 'Condition/ca2'], 'chain on own patient');
  const chainOther = await s.as(pa, 'GET', `${B}/Condition?subject:Patient.family=Beta`);
  t.same(ids(chainOther.body), [], "chain on the other patient's name finds nothing");
  const hasOwn = await s.as(pa, 'GET', `${B}/Patient?_has:Condition:subject:code=111`);
  t.same(ids(hasOwn.body), ['Patient/pa'], '_has on own condition');
  const hasOther = await s.as(pa, 'GET', `${B}/Patient?_has:Condition:subject:code=221`);
  t.same(ids(hasOther.body), [], "_has on the other patient's condition finds nothing");
  const sys = await s.as(pa, 'GET', `${B}?_type=Condition,Patient`);
  t.same(ids(sys.body), ['Condition/ca1', 'Condition/ca2', 'Patient/pa'], 'system search: own data only');
  const everything = await s.as(pa, 'GET', `${B}?_count=100`);
  t.notOk(ids(everything.body).some((x) => /\/(pb|cb1)$/.test(x)), 'system search without _type: no data of the other patient');
  t.ok(ids(everything.body).includes('Condition/ca1'), 'but the own data');
  const ownComp = await s.as(pa, 'GET', `${B}/Patient/pa/Condition`);
  t.same(ids(ownComp.body), ['Condition/ca1', 'Condition/ca2'], 'own compartment search');
  const comp = await s.as(pa, 'GET', `${B}/Patient/pb/Condition`);
  t.equal(comp.status, 403, "the other patient's compartment is refused");
  const ownAll = await s.as(pa, 'GET', `${B}/Patient/pa/*`);
  t.same(ids(ownAll.body), ['Condition/ca1', 'Condition/ca2', 'Patient/pa'], 'own whole compartment (Patient/pa/*)');
  t.equal((await s.as(pa, 'GET', `${B}/Patient/pb/*`)).status, 403, "the other patient's whole compartment is refused");
  const conditionsOnly = await s.token({ scope: 'patient/Condition.rs', patient: 'pa' });
  t.same(ids((await s.as(conditionsOnly, 'GET', `${B}/Patient/pa/*`)).body), ['Condition/ca1', 'Condition/ca2'], 'Patient/pa/* shows only the types the scopes allow');
  t.equal((await s.as(conditionsOnly, 'GET', `${B}/Patient/pa/*?_type=Patient`)).status, 403, '_type naming a type the scopes do not allow is refused');
  const ev = await s.as(pa, 'GET', `${B}/Patient/pa/$everything`);
  t.same(ids(ev.body), ['Condition/ca1', 'Condition/ca2', 'Patient/pa', 'Practitioner/pr1'], 'Patient/pa/$everything: own record, and the practitioner it references');
  t.equal((await s.as(pa, 'GET', `${B}/Patient/pb/$everything`)).status, 403, "the other patient's $everything is refused");
  t.equal((await s.as(conditionsOnly, 'GET', `${B}/Patient/pa/$everything`)).status, 403, '$everything reads the Patient: it needs r on Patient');
  // POST [base]/_search: the form's _type is checked as the URL's is (the body is parsed after the request is classified).
  const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
  t.equal((await s.as(conditionsOnly, 'GET', `${B}?_type=Patient`)).status, 403, 'system search: a _type the scopes do not allow is refused');
  const formType = await s.as(conditionsOnly, 'POST', `${B}/_search`, '_type=Patient', FORM);
  t.equal(formType.status, 403, 'and so it is in a POST _search form');
  t.match(formType.body.issue[0].diagnostics, /needs 's' on Patient/);
  const formOwn = await s.as(pa, 'POST', `${B}/_search`, '_type=Condition,Patient', FORM);
  t.equal(formOwn.status, 200);
  t.same(ids(formOwn.body), ['Condition/ca1', 'Condition/ca2', 'Patient/pa'], 'POST _search: own data only, as GET');

  const hist = await s.as(pa, 'GET', `${B}/Condition/_history`);
  t.ok(hist.body.entry.length > 0);
  t.notOk(hist.body.entry.some((e: { fullUrl: string }) => e.fullUrl.endsWith('/cb1')), "type history leaves out the other patient's versions");
  const histOther = await s.as(pa, 'GET', `${B}/Condition/cb1/_history`);
  t.equal(histOther.status, 404, "instance history of the other patient's condition: 404, as its read and vread");
  t.notMatch(JSON.stringify(histOther.body), /"entry"/, 'no version shown');
  t.equal((await s.as(pa, 'GET', `${B}/Condition/never-was/_history`)).body.issue[0].diagnostics, histOther.body.issue[0].diagnostics.replace('cb1', 'never-was'), 'and the same answer as for one that never existed');
  const sysHist = await s.as(pa, 'GET', `${B}/_history`);
  t.notOk(sysHist.body.entry.some((e: { fullUrl: string }) => /\/(cb1|pb)$/.test(e.fullUrl)), "system history leaves out the other patient's data");
  t.equal((await s.as(pa, 'GET', `${B}/Practitioner/pr1`)).status, 200, 'shared reference types are readable');
});

t.test('patient/ writes and transaction entries', async (t) => {
  const pa = await s.token({ scope: 'patient/*.cruds', patient: 'pa' });
  const own = await s.as(pa, 'POST', `${B}/Condition`, condition('n1', 'pa', 'problem-list-item', '113'));
  t.equal(own.status, 201, 'create in own compartment');
  const other = await s.as(pa, 'POST', `${B}/Condition`, condition('n2', 'pb', 'problem-list-item', '114'));
  t.equal(other.status, 403, "create in the other patient's compartment is refused");
  t.equal(other.body.issue[0].code, 'forbidden');
  const moveIn = await s.as(pa, 'PUT', `${B}/Condition/cb1`, condition('cb1', 'pa', 'problem-list-item', '221'));
  t.equal(moveIn.status, 403, "overwriting the other patient's condition is refused");
  const del = await s.as(pa, 'DELETE', `${B}/Condition/cb1`);
  t.equal(del.status, 404, "deleting the other patient's condition is refused (404: it is not visible to the token)");
  const delNever = await s.as(pa, 'DELETE', `${B}/Condition/never-was`);
  t.equal(delNever.status, 404, 'under a narrowed token, deleting what never existed answers as for a hidden resource (404), so the two are told apart by nothing');
  t.equal(delNever.body.issue[0].diagnostics, del.body.issue[0].diagnostics.replace('cb1', 'never-was'), 'with the same diagnostics');
  t.equal(del.body.issue[0].diagnostics, (await s.as(pa, 'GET', `${B}/Condition/cb1`)).body.issue[0].diagnostics, 'and the same as its read, and its history');
  t.equal(del.body.issue[0].diagnostics, (await s.as(pa, 'GET', `${B}/Condition/cb1/_history`)).body.issue[0].diagnostics);
  const adminDel = await s.as(admin, 'DELETE', `${B}/Condition/never-was`);
  t.equal(adminDel.status, 204, 'a token that sees everything deletes what never existed as http.html#delete says (204)');
  t.equal((await s.as(pa, 'PUT', `${B}/Practitioner/pr1`, { resourceType: 'Practitioner', id: 'pr1' })).status, 403, 'patient/ scopes do not write shared types');

  const tx = (patient: string) => ({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [{ fullUrl: 'urn:uuid:1', resource: condition('t1', patient, 'problem-list-item', '115'), request: { method: 'POST', url: 'Condition' } }],
  });
  t.equal((await s.as(pa, 'POST', B, tx('pa'))).status, 200, 'transaction entry in own compartment');
  const txOther = await s.as(pa, 'POST', B, tx('pb'));
  t.equal(txOther.status, 403, "transaction entry for the other patient is refused");
  const getOther = await s.as(pa, 'POST', B, { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Condition/cb1' } }, { request: { method: 'GET', url: 'Condition?subject=Patient/pb' } }] });
  t.equal(getOther.status, 200);
  t.equal(getOther.body.entry[0].response.status, '404', "batch read of the other patient's condition: 404");
  t.same(getOther.body.entry[1].resource.entry ?? [], [], 'batch search for the other patient: nothing');
  const check = await s.as(admin, 'GET', `${B}/Condition?subject=Patient/pb`);
  t.same(ids(check.body), ['Condition/cb1'], "the other patient's data is unchanged");
});

t.test('operations: $ccm-billing needs read scopes and the own patient', async (t) => {
  const pa = await s.token({ scope: 'patient/*.rs', patient: 'pa' });
  const own = await s.as(pa, 'GET', `${B}/Patient/pa/$ccm-billing?month=2025-03`);
  t.equal(own.status, 200, 'own patient');
  t.equal((await s.as(pa, 'GET', `${B}/Patient/pb/$ccm-billing?month=2025-03`)).status, 403, 'other patient (instance)');
  const body = { resourceType: 'Parameters', parameter: [{ name: 'month', valueString: '2025-03' }, { name: 'patient', valueReference: { reference: 'Patient/pb' } }] };
  t.equal((await s.as(pa, 'POST', `${B}/$ccm-billing`, body)).status, 403, 'other patient (system level, Parameters)');
  // The patients a body names are read before the operation runs: a malformed body is a 400 there too (was a TypeError, 500).
  for (const [parameter, expression] of [
    [{ name: 'patient' }, 'Parameters.parameter'],
    [[{ name: 'patient', valueReference: { reference: 5 } }], 'Parameters.parameter[0].valueReference.reference'],
  ] as const) {
    const bad = await s.as(pa, 'POST', `${B}/$ccm-billing`, { resourceType: 'Parameters', parameter });
    t.equal(bad.status, 400, `malformed Parameters: 400 (${expression})`);
    t.same(bad.body.issue[0].expression, [expression]);
  }
  // A Parameters/$validate body is the resource to validate, not input naming patients (validation is off here: 501).
  t.equal((await s.as(pa, 'POST', `${B}/Parameters/$validate`, { resourceType: 'Parameters', parameter: { name: 'patient' } })).status, 501);
  const narrow = await s.token({ scope: 'system/Condition.rs' });
  t.equal((await s.as(narrow, 'GET', `${B}/Patient/pa/$ccm-billing?month=2025-03`)).status, 403, 'without read on what it reads');
  const wide = await s.token({ scope: 'system/*.rs' });
  t.equal((await s.as(wide, 'GET', `${B}/Patient/pb/$ccm-billing?month=2025-03`)).status, 200, 'system/*.rs');
});

t.test('v2 query-restricted scope', async (t) => {
  const tok = await s.token({ scope: `patient/Condition.rs?category=${encodeURIComponent(PL + '|problem-list-item')}`, patient: 'pa' });
  const r = await s.as(tok, 'GET', `${B}/Condition`);
  t.equal(r.status, 200);
  t.same(ids(r.body).filter((x) => x === 'Condition/ca1' || x === 'Condition/ca2'), ['Condition/ca1'], 'search returns problem-list items only');
  t.notOk(ids(r.body).includes('Condition/cb1'), 'and only of the own patient');
  t.equal((await s.as(tok, 'GET', `${B}/Condition/ca1`)).status, 200, 'read of a matching condition');
  t.equal((await s.as(tok, 'GET', `${B}/Condition/ca2`)).status, 404, 'read of a non-matching condition is refused');
  const sys = await s.token({ scope: 'system/Condition.rs?category=encounter-diagnosis' });
  const rs = await s.as(sys, 'GET', `${B}/Condition`);
  t.same(ids(rs.body), ['Condition/ca2'], 'system scope restricted by category');
  const rev = await s.as(await s.token({ scope: 'system/Patient.rs system/Condition.rs?category=encounter-diagnosis' }), 'GET', `${B}/Patient?_revinclude=Condition:subject`);
  t.same(ids(rev.body), ['Condition/ca2', 'Patient/pa', 'Patient/pb'], '_revinclude honours the restriction');
  // A restriction with no value cannot be honoured (search ignores empty parameters): the scope grants nothing.
  const empty = await s.token({ scope: 'system/Patient.rs system/Condition.rs?category=' });
  t.equal((await s.as(empty, 'GET', `${B}/Condition`)).status, 403, 'an empty restriction grants no search');
  t.equal((await s.as(empty, 'GET', `${B}/Condition/ca2`)).status, 403, 'nor a read');
  t.same(ids((await s.as(empty, 'GET', `${B}/Patient?_revinclude=Condition:subject`)).body), ['Patient/pa', 'Patient/pb'], 'nor an included Condition');
});

function b64(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}
function unsigned(payload: object): string {
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
}
async function hmac(payload: object): Promise<string> {
  const { createHmac } = await import('node:crypto');
  const head = `${b64({ alg: 'HS256', typ: 'JWT', kid: 'k1' })}.${b64(payload)}`;
  return `${head}.${createHmac('sha256', 'secret').update(head).digest('base64url')}`;
}
