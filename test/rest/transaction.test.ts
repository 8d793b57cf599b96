import t from 'tap';
import { fhir, startServer } from '../helpers/server.js';
import { requires } from '../helpers/capabilities.js';
import { defaultAuthConfig } from '../../src/config.js';

const uuid = (n: number) => `urn:uuid:00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

t.test('transaction: urn:uuid references, conditional references, processing order, response', await requires('transactions', 'the bundle writes several resources atomically'), async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const org = await fhir('POST', `${B}/Organization`, { resourceType: 'Organization', identifier: [{ system: 'urn:npi', value: '1234567893' }], name: 'Clinic' });
  const doomed = await fhir('POST', `${B}/Observation`, { resourceType: 'Observation', status: 'final', code: { text: 'old' } });

  const bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { request: { method: 'GET', url: `Organization/${org.body.id}` } },
      {
        fullUrl: uuid(2),
        resource: { resourceType: 'Condition', subject: { reference: uuid(1) }, code: { text: 'Diabetes' } },
        request: { method: 'POST', url: 'Condition' },
      },
      {
        fullUrl: uuid(1),
        resource: {
          resourceType: 'Patient',
          managingOrganization: { reference: 'Organization?identifier=urn:npi|1234567893' },
          text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml"><a href="${uuid(2)}">condition</a></div>` },
        },
        request: { method: 'POST', url: 'Patient' },
      },
      { request: { method: 'DELETE', url: `Observation/${doomed.body.id}` } },
      { fullUrl: `${B}/Practitioner/dr-1`, resource: { resourceType: 'Practitioner', id: 'dr-1', active: true }, request: { method: 'PUT', url: 'Practitioner/dr-1' } },
    ],
  };
  const res = await fhir('POST', B, bundle);
  t.equal(res.status, 200, JSON.stringify(res.body?.issue ?? ''));
  t.equal(res.body.type, 'transaction-response');
  const [get, cond, pat, del, put] = res.body.entry;
  t.equal(get.response.status, '200');
  t.equal(get.resource.id, org.body.id);
  t.match(cond.response.status, /^201/);
  t.match(pat.response.status, /^201/);
  t.match(del.response.status, /^204/);
  t.match(put.response.status, /^201/);
  const patientId = pat.response.location.split('/')[1];
  const conditionId = cond.response.location.split('/')[1];
  const condition = (await fhir('GET', `${B}/Condition/${conditionId}`)).body;
  t.equal(condition.subject.reference, `Patient/${patientId}`, 'urn:uuid rewritten to the assigned id');
  const patient = (await fhir('GET', `${B}/Patient/${patientId}`)).body;
  t.equal(patient.managingOrganization.reference, `Organization/${org.body.id}`, 'conditional reference resolved');
  t.match(patient.text.div, `href="Condition/${conditionId}"`, 'narrative link rewritten');
  t.equal((await fhir('GET', `${B}/Observation/${doomed.body.id}`)).status, 410);
});

t.test('transaction: a conditional reference can match a resource the same bundle creates', await requires('transactions', 'the bundle writes two resources atomically'), async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const res = await fhir('POST', B, { resourceType: 'Bundle', type: 'transaction', entry: [
    { resource: { resourceType: 'Observation', status: 'final', code: { text: 'bp' }, subject: { reference: 'Patient?identifier=urn:new|P1' } }, request: { method: 'POST', url: 'Observation' } },
    { fullUrl: uuid(7), resource: { resourceType: 'Patient', identifier: [{ system: 'urn:new', value: 'P1' }] }, request: { method: 'POST', url: 'Patient' } },
  ] });
  t.equal(res.status, 200, JSON.stringify(res.body?.issue ?? ''));
  const obsId = res.body.entry[0].response.location.split('/')[1];
  const patId = res.body.entry[1].response.location.split('/')[1];
  t.equal((await fhir('GET', `${B}/Observation/${obsId}`)).body.subject.reference, `Patient/${patId}`);
  const found = await fhir('GET', `${B}/Observation?subject=Patient/${patId}`);
  t.equal(found.body.total, 1, 'the resolved reference is what gets indexed');
  const twice = await fhir('POST', B, { resourceType: 'Bundle', type: 'transaction', entry: [
    { resource: { resourceType: 'Patient', identifier: [{ system: 'urn:new', value: 'P1' }] }, request: { method: 'POST', url: 'Patient' } },
    { resource: { resourceType: 'Observation', status: 'final', code: { text: 'bp' }, subject: { reference: 'Patient?identifier=urn:new|P1' } }, request: { method: 'POST', url: 'Observation' } },
  ] });
  t.equal(twice.status, 412, 'one stored and one new match: ambiguous');
});

t.test('transaction: one bad entry leaves nothing behind', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  // Patient/vr: version 2 is a deletion, 3 the latest.
  await fhir('PUT', `${B}/Patient/vr`, { resourceType: 'Patient', id: 'vr' });
  await fhir('DELETE', `${B}/Patient/vr`);
  await fhir('PUT', `${B}/Patient/vr`, { resourceType: 'Patient', id: 'vr', active: true });
  const before = (await fhir('GET', `${B}/_history`)).body.total;
  const bad = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: uuid(1), resource: { resourceType: 'Patient', active: true }, request: { method: 'POST', url: 'Patient' } },
      { fullUrl: uuid(2), resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient?identifier=urn:none|nobody' } }, request: { method: 'POST', url: 'Observation' } },
    ],
  };
  const res = await fhir('POST', B, bad);
  t.equal(res.status, 404);
  t.equal(res.body.resourceType, 'OperationOutcome');
  t.match(res.body.issue[0].diagnostics, /Bundle\.entry\[1\]/);
  t.equal((await fhir('GET', `${B}/_history`)).body.total, before, 'nothing written');

  const wrongType = { resourceType: 'Bundle', type: 'transaction', entry: [
    { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
    { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Observation' } },
  ] };
  const r2 = await fhir('POST', B, wrongType);
  t.equal(r2.status, 400);
  t.same(r2.body.issue[0].expression, ['Bundle.entry[1].resource.resourceType']);
  const stale = { resourceType: 'Bundle', type: 'transaction', entry: [
    { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
    { resource: { resourceType: 'Patient', id: 'nope' }, request: { method: 'PUT', url: 'Patient/nope', ifMatch: 'W/"4"' } },
  ] };
  t.equal((await fhir('POST', B, stale)).status, 412);
  t.equal((await fhir('GET', `${B}/_history`)).body.total, before, 'still nothing written');

  // A read is one of the transaction's actions: one that fails fails it ("accept all actions ... or reject all").
  const post = { resource: { resourceType: 'Basic', code: { text: 'x' } }, request: { method: 'POST', url: 'Basic' } };
  const failing: Array<[string, unknown, number, string]> = [
    ['a read of nothing', { request: { method: 'GET', url: 'Patient/does-not-exist' } }, 404, 'not-found'],
    ['a vread of nothing', { request: { method: 'GET', url: 'Patient/does-not-exist/_history/1' } }, 404, 'not-found'],
    ['a vread past the latest version', { request: { method: 'GET', url: 'Patient/vr/_history/4' } }, 404, 'not-found'],
    ['a vread of a deletion', { request: { method: 'GET', url: 'Patient/vr/_history/2' } }, 410, 'deleted'],
    ['a read with a bad id', { request: { method: 'GET', url: 'Patient/bad_id!' } }, 400, 'value'],
    ['a search with an unknown parameter', { request: { method: 'GET', url: 'Patient?nonsense=1' } }, 400, 'not-supported'],
    ['a read of an unknown type', { request: { method: 'GET', url: 'Frobnicator/1' } }, 404, 'not-supported'],
    ['another server\'s URL', { request: { method: 'GET', url: 'http://elsewhere.example/fhir/Patient/1' } }, 400, 'invalid'],
    ['a dot segment', { request: { method: 'GET', url: 'Patient/../Basic' } }, 400, 'invalid'],
    ['a method in lower case', { resource: { resourceType: 'Basic', code: { text: 'y' } }, request: { method: 'post', url: 'Basic' } }, 400, 'not-supported'],
    ['a urn:uuid reference no entry has', { resource: { resourceType: 'Basic', code: { text: 'y' }, subject: { reference: uuid(77) } }, request: { method: 'POST', url: 'Basic' } }, 400, 'invalid'],
  ];
  for (const [what, entry, status, code] of failing) {
    const r = await fhir('POST', B, { resourceType: 'Bundle', type: 'transaction', entry: [post, entry] });
    t.equal(r.status, status, `${what}: the transaction fails`);
    t.equal(r.body.issue?.[0]?.code, code, `${what}: issue code`);
    t.match(r.body.issue?.[0]?.diagnostics ?? '', /Bundle\.entry\[1\]/, `${what}: names the entry`);
  }
  t.equal((await fhir('GET', `${B}/_history`)).body.total, before, 'none of them wrote anything');
  // A read of what the same transaction creates succeeds, after its writes (one write: stores without multi-document transactions take it).
  const ok = await fhir('POST', B, { resourceType: 'Bundle', type: 'transaction', entry: [
    { resource: { resourceType: 'Patient', id: 'made-here' }, request: { method: 'PUT', url: 'Patient/made-here' } },
    { request: { method: 'GET', url: 'Patient/made-here' } },
  ] });
  t.equal(ok.status, 200);
  t.equal(ok.body.entry[1].response.status, '200');
  // Earlier versions that exist read as they are; the version the transaction writes reads too.
  const vreads = await fhir('POST', B, { resourceType: 'Bundle', type: 'transaction', entry: [
    { resource: { resourceType: 'Patient', id: 'vr', active: false }, request: { method: 'PUT', url: 'Patient/vr' } },
    { request: { method: 'GET', url: 'Patient/vr/_history/1' } },
    { request: { method: 'GET', url: 'Patient/vr/_history/4' } },
  ] });
  t.equal(vreads.status, 200);
  t.same(vreads.body.entry.slice(1).map((e: { response: { status: string } }) => e.response.status), ['200', '200']);
  t.equal(vreads.body.entry[2].resource.active, false, 'the version this transaction wrote');
});

t.test('transaction: entries that touch the same resource fail it (http.html#trules)', await requires('transactions', 'the bundle is refused whole'), async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  await fhir('PUT', `${B}/Patient/p1`, { resourceType: 'Patient', id: 'p1', identifier: [{ system: 'urn:mrn', value: 'm1' }] });
  await fhir('PUT', `${B}/Patient/p2`, { resourceType: 'Patient', id: 'p2' });
  const before = (await fhir('GET', `${B}/_history`)).body.total;
  const tx = (...entry: object[]) => fhir('POST', B, { resourceType: 'Bundle', type: 'transaction', entry });
  const put = (id: string, extra: object = {}) => ({ resource: { resourceType: 'Patient', id, ...extra }, request: { method: 'PUT', url: `Patient/${id}` } });
  const cases: Array<[string, object[], number]> = [
    ['two updates', [put('p1', { active: true }), put('p1', { active: false })], 1],
    ['an update and a delete', [put('p1'), { request: { method: 'DELETE', url: 'Patient/p1' } }], 1],
    ['a patch and an update', [{ resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(JSON.stringify([{ op: 'add', path: '/active', value: true }])).toString('base64') }, request: { method: 'PATCH', url: 'Patient/p1' } }, put('p1')], 1],
    ['a conditional update and an update of its match', [{ resource: { resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: 'm1' }] }, request: { method: 'PUT', url: 'Patient?identifier=urn:mrn|m1' } }, put('p1')], 1],
    ['a conditional delete and an update of its match', [{ request: { method: 'DELETE', url: 'Patient?identifier=urn:mrn|m1' } }, put('p1')], 1],
    // A resource that does not exist is still the entry's target (the delete would answer 204).
    ['a delete and an update of one that does not exist', [{ request: { method: 'DELETE', url: 'Patient/p1-none' } }, put('p1-none')], 1],
    ['two deletes of one that does not exist', [{ request: { method: 'DELETE', url: 'Patient/p1-none' } }, { request: { method: 'DELETE', url: 'Patient/p1-none' } }], 1],
  ];
  for (const [name, entries, second] of cases) {
    const r = await fhir('POST', B, { resourceType: 'Bundle', type: 'transaction', entry: entries });
    t.equal(r.status, 400, `${name}: refused`);
    t.match(JSON.stringify(r.body), name.includes('not exist') ? 'Patient/p1-none' : 'Patient/p1', `${name}: the resource is named`);
    t.match(JSON.stringify(r.body), `Bundle.entry[${second}]`, `${name}: and the entry`);
  }
  t.equal((await fhir('GET', `${B}/_history`)).body.total, before, 'nothing written');
  const ok = await tx(put('p1', { active: true }), put('p2', { active: true }), { request: { method: 'GET', url: 'Patient/p1' } });
  t.equal(ok.status, 200, 'different resources, and a read of a written one, are fine');
});

t.test('batch: entries succeed or fail independently', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const res = await fhir('POST', B, {
    resourceType: 'Bundle',
    type: 'batch',
    entry: [
      { resource: { resourceType: 'Patient', active: true }, request: { method: 'POST', url: 'Patient' } },
      { request: { method: 'GET', url: 'Patient/missing' } },
      { resource: { resourceType: 'Observation' }, request: { method: 'POST', url: 'Patient' } },
      { resource: { resourceType: 'Patient', id: 'b1' }, request: { method: 'PUT', url: 'Patient/b1' } },
      { request: { method: 'DELETE', url: 'Patient/never-was' } },
      { request: { method: 'DELETE', url: 'Patient/never-was', ifMatch: 'W/"1"' } },
    ],
  });
  t.equal(res.status, 200);
  t.equal(res.body.type, 'batch-response');
  t.same(res.body.entry.map((e: any) => e.response.status.slice(0, 3)), ['201', '404', '400', '201', '204', '412'], 'deleting what never existed: 204 (http.html#delete), or 412 under If-Match');
  t.equal(res.body.entry[1].response.outcome.resourceType, 'OperationOutcome');
  t.equal((await fhir('GET', `${B}/Patient/b1`)).status, 200);
  // An entry that references another entry depends on it (http.html#brules): refused, the others run.
  const dependent = await fhir('POST', B, {
    resourceType: 'Bundle',
    type: 'batch',
    entry: [
      { fullUrl: 'urn:uuid:4a1f0000-0000-4000-8000-000000000001', resource: { resourceType: 'Patient', active: true }, request: { method: 'POST', url: 'Patient' } },
      { resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'urn:uuid:4a1f0000-0000-4000-8000-000000000001' } }, request: { method: 'POST', url: 'Observation' } },
      { resource: { resourceType: 'Observation', status: 'final', code: { text: 'y' }, subject: { reference: 'Patient/b1' } }, request: { method: 'POST', url: 'Observation' } },
    ],
  });
  t.same(dependent.body.entry.map((e: any) => e.response.status.slice(0, 3)), ['201', '400', '201']);
  // A PATCH entry whose Binary holds no JSON is that entry's 400, not a failure of the batch.
  const notJson = await fhir('POST', B, { resourceType: 'Bundle', type: 'batch', entry: [
    { resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from('not json').toString('base64') }, request: { method: 'PATCH', url: 'Patient/b1' } },
  ] });
  t.equal(notJson.status, 200);
  t.equal(notJson.body.entry[0].response.status.slice(0, 3), '400');
  t.match(notJson.body.entry[0].response.outcome.issue[0].diagnostics, /does not hold JSON/);
  t.match(dependent.body.entry[1].response.outcome.issue[0].diagnostics, /Bundle\.entry\[0\]: entries of a batch may not depend on each other/);
  t.equal((await fhir('GET', `${B}/Observation?code:text=x`)).body.total, 0, 'nothing stored pointing nowhere');
});

t.test('batch GET entries honour ifNoneMatch and ifModifiedSince (conditional read)', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const made = await fhir('PUT', `${B}/Patient/c1`, { resourceType: 'Patient', id: 'c1' });
  const lastModified = made.body.meta.lastUpdated as string;
  const get = (request: object) => ({ request: { method: 'GET', url: 'Patient/c1', ...request } });
  const res = await fhir('POST', B, { resourceType: 'Bundle', type: 'batch', entry: [
    get({ ifNoneMatch: 'W/"1"' }),
    get({ ifNoneMatch: 'W/"9"' }),
    get({ ifModifiedSince: '2099-01-01T00:00:00Z' }),
    get({ ifModifiedSince: '2000-01-01T00:00:00Z' }),
    get({}),
  ] });
  t.equal(res.status, 200);
  const statuses = res.body.entry.map((e: { response: { status: string } }) => e.response.status.split(' ')[0]);
  t.same(statuses, ['304', '200', '304', '200', '200'], 'matching ETag or no change since: 304');
  t.notOk(res.body.entry[0].resource, 'a 304 carries no resource');
  t.equal(res.body.entry[0].response.etag, 'W/"1"', 'but its ETag');
  t.ok(res.body.entry[1].resource, 'a 200 carries the resource');
  t.ok(Date.parse(lastModified) > 0);
  const bad = await fhir('POST', B, { resourceType: 'Bundle', type: 'batch', entry: [get({ ifModifiedSince: 'yesterday' })] });
  t.equal(bad.body.entry[0].response.status.split(' ')[0], '400', 'an ifModifiedSince that is no instant is refused');
});

t.test('bundle entry limit', async (t) => {
  const srv = await startServer({ bundleEntryLimit: 3 });
  t.teardown(() => srv.close());
  const entry = Array.from({ length: 4 }, () => ({ resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } }));
  const res = await fhir('POST', srv.base, { resourceType: 'Bundle', type: 'batch', entry });
  t.equal(res.status, 413);
  t.equal(res.body.issue[0].code, 'too-costly');
});

t.test('transaction: a urn:uuid or conditional reference to a type the element does not take is refused, as Type/id is; every refused entry is named', await requires('transactions', 'the valid bundles write two resources atomically'), async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  await fhir('PUT', `${B}/Practitioner/doc`, { resourceType: 'Practitioner', id: 'doc', identifier: [{ system: 'http://x', value: 'doc1' }] });
  const condition = (subject: string) => ({ resourceType: 'Condition', subject: { reference: subject }, code: { text: 'x' } });
  const tx = (...entry: unknown[]) => fhir('POST', B, { resourceType: 'Bundle', type: 'transaction', entry });
  const total = async () => (await fhir('GET', `${B}/Condition?_summary=count`)).body.total as number;

  const byUuid = await tx(
    { fullUrl: uuid(1), resource: { resourceType: 'Practitioner', name: [{ family: 'Doc' }] }, request: { method: 'POST', url: 'Practitioner' } },
    { fullUrl: uuid(2), resource: condition(uuid(1)), request: { method: 'POST', url: 'Condition' } },
  );
  t.equal(byUuid.status, 422, 'a Condition.subject naming a Practitioner entry');
  t.same(byUuid.body.issue[0].expression, ['Bundle.entry[1].resource.subject']);
  t.match(byUuid.body.issue[0].diagnostics, /Found Practitioner, but expected one of \(Patient, Group\)/);
  const validated = await fhir('POST', `${B}/Bundle/$validate`, {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: uuid(1), resource: { resourceType: 'Practitioner' }, request: { method: 'POST', url: 'Practitioner' } },
      { fullUrl: uuid(2), resource: condition(uuid(1)), request: { method: 'POST', url: 'Condition' } },
    ],
  });
  t.ok(
    validated.body.issue.some((i: { severity: string; expression?: string[] }) => i.severity === 'error' && i.expression?.[0] === 'Bundle.entry[1].resource.subject'),
    '$validate of that transaction says the same',
  );
  const conditional = await tx({ resource: condition('Practitioner?identifier=http://x|doc1'), request: { method: 'POST', url: 'Condition' } });
  t.equal(conditional.status, 422, 'a conditional reference names its type');
  t.same(conditional.body.issue[0].expression, ['Bundle.entry[0].resource.subject']);
  const single = await fhir('POST', `${B}/Condition`, condition('Practitioner?identifier=http://x|doc1'));
  t.equal(single.status, 422, 'and so on a single write');
  t.equal(await total(), 0, 'nothing was written');

  const fine = await tx(
    { fullUrl: uuid(3), resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
    { fullUrl: uuid(4), resource: condition(uuid(3)), request: { method: 'POST', url: 'Condition' } },
  );
  t.equal(fine.status, 200, 'a Patient entry is a subject');

  const many = await tx(
    { resource: { resourceType: 'Patient', birthDate: '2020-13-01' }, request: { method: 'POST', url: 'Patient' } },
    { resource: { resourceType: 'Observation', status: 'done', code: { text: 'x' } }, request: { method: 'POST', url: 'Observation' } },
    { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
    { resource: { resourceType: 'Observation', status: 'final' }, request: { method: 'POST', url: 'Observation' } },
  );
  t.equal(many.status, 422);
  const where = many.body.issue.filter((i: { severity: string }) => i.severity === 'error').map((i: { expression: string[] }) => i.expression[0]);
  t.ok(where.includes('Bundle.entry[0].resource.birthDate'), 'entry 0 named');
  t.ok(where.includes('Bundle.entry[1].resource.status'), 'entry 1 named');
  t.ok(where.includes('Bundle.entry[3].resource.code'), 'entry 3 named');
  t.notOk(where.some((w: string) => w.startsWith('Bundle.entry[2]')), 'the valid entry is not');
  t.equal(await total(), 1, 'only the valid bundle wrote');
});

t.test('the GET entries of one bundle return at most ten pages of the largest size in all', async (t) => {
  const srv = await startServer({ auth: { ...defaultAuthConfig(), maxCount: 5 } });
  t.teardown(() => srv.close());
  const B = srv.base;
  for (let i = 0; i < 6; i++) t.equal((await fhir('POST', `${B}/Basic`, { resourceType: 'Basic', code: { text: `b${i}` } })).status, 201);
  // Each entry reads a full page of 5: ten of them reach the budget of 50 (10 x MAX_COUNT).
  const entry = Array.from({ length: 12 }, () => ({ request: { method: 'GET', url: 'Basic?_count=5' } }));
  const r = await fhir('POST', B, { resourceType: 'Bundle', type: 'batch', entry });
  t.equal(r.status, 200);
  const statuses = r.body.entry.map((e: { response: { status: string } }) => e.response.status);
  t.same(statuses, [...Array(10).fill('200'), '400', '400'], 'the entries past the budget are refused, without running');
  t.match(r.body.entry[10].response.outcome.issue[0], { code: 'too-costly', diagnostics: /returned 50 resources, the most one bundle returns/ });
  t.equal(r.body.entry[9].resource.entry.length, 5, 'the last one within it is whole');
  const reads = Array.from({ length: 3 }, () => ({ request: { method: 'GET', url: 'Basic?_count=1' } }));
  t.same((await fhir('POST', B, { resourceType: 'Bundle', type: 'batch', entry: reads })).body.entry.map((e: { response: { status: string } }) => e.response.status), ['200', '200', '200'], 'each bundle has its own budget');
});
