// REST conformance (http.html, json.html, RFC 9110) over the real server: the findings of the REST audit.
import t from 'tap';
import { fhir, startServer } from '../helpers/server.js';

t.test('REST conformance', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;

  t.test('an empty transaction or batch answers without an entry array (json.html: arrays are never empty)', async (t) => {
    for (const [type, body] of [
      ['transaction', { resourceType: 'Bundle', type: 'transaction' }],
      ['batch', { resourceType: 'Bundle', type: 'batch', entry: [] }],
    ] as const) {
      const r = await fhir('POST', B, body);
      t.equal(r.status, 200, type);
      t.strictSame(r.body, { resourceType: 'Bundle', type: `${type}-response` }, `${type}: no entry`);
      t.notMatch(r.text, /"entry"/);
      const check = await fhir('POST', `${B}/Bundle/$validate`, r.body);
      t.notOk(
        (check.body.issue as Array<{ severity: string }>).some((i) => i.severity === 'error'),
        `${type}-response passes the server's own $validate`,
      );
    }
    const audit = await fhir('GET', `${B}/AuditEvent?patient=Patient/nobody-at-all`);
    t.equal(audit.status, 200);
    t.equal(audit.body.total, 0);
    t.notOk('entry' in audit.body, 'an AuditEvent search page with no events has no entry');
  });
});

t.test('the capabilities interaction has a stable ETag from its content and honours If-None-Match', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const first = await fhir('GET', `${B}/metadata`);
  t.equal(first.status, 200);
  const etag = String(first.headers.etag ?? '');
  t.match(etag, /^W\/"[A-Za-z0-9_-]+"$/, 'an ETag');
  await new Promise((r) => setTimeout(r, 5));
  const again = await fhir('GET', `${B}/metadata`);
  t.equal(again.headers.etag, etag, 'the same content keeps its ETag');
  t.equal(again.body.date, first.body.date, 'and its date');
  t.strictSame(again.body, first.body);
  const head = await fhir('HEAD', `${B}/metadata`);
  t.equal(head.headers.etag, etag, 'HEAD too');
  for (const inm of [etag, etag.replace(/^W\//, ''), '*', `W/"other", ${etag}`]) {
    const r = await fhir('GET', `${B}/metadata`, undefined, { 'if-none-match': inm });
    t.equal(r.status, 304, `If-None-Match: ${inm} -> 304`);
    t.equal(r.text, '', 'no body');
    t.equal(r.headers.etag, etag);
  }
  t.equal((await fhir('GET', `${B}/metadata`, undefined, { 'if-none-match': 'W/"stale"' })).status, 200, 'another ETag -> 200');
  // Another server (other configuration, other content) has another ETag.
  const other = await startServer({ validate: false });
  t.teardown(() => other.close());
  const otherCs = await fhir('GET', `${other.base}/metadata`);
  t.not(otherCs.headers.etag, etag, 'other content, other ETag');
});

t.test('AuditEvent history and vread say that the trail keeps no history', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  await fhir('GET', `${B}/Patient?_count=1`);
  const found = await fhir('GET', `${B}/AuditEvent?_count=1`);
  const id = found.body.entry?.[0]?.resource?.id as string;
  t.ok(id, 'an event to ask about');
  t.equal((await fhir('GET', `${B}/AuditEvent/${id}`)).status, 200, 'the event reads');
  for (const path of ['AuditEvent/_history', `AuditEvent/${id}/_history`, `AuditEvent/${id}/_history/1`, 'AuditEvent/no-such/_history']) {
    const r = await fhir('GET', `${B}/${path}`);
    t.equal(r.status, 404, `${path}: 404`);
    t.equal(r.body.resourceType, 'OperationOutcome');
    t.equal(r.body.issue[0].code, 'not-supported', `${path}: not-supported`);
    t.match(r.body.issue[0].diagnostics, /AuditEvent history is not supported/, `${path}: says history is not kept`);
  }
});

t.test('If-None-Match on a write is evaluated before it (RFC 9110 13.1.2): a match is a 412 and nothing is written', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const basic = (id: string, text: string) => ({ resourceType: 'Basic', id, code: { text } });

  const created = await fhir('PUT', `${B}/Basic/inm-a`, basic('inm-a', 'first'), { 'if-none-match': '*' });
  t.equal(created.status, 201, 'If-None-Match: * creates what does not exist');
  const star = await fhir('PUT', `${B}/Basic/inm-a`, basic('inm-a', 'second'), { 'if-none-match': '*' });
  t.equal(star.status, 412, 'If-None-Match: * on an existing resource -> 412');
  t.equal(star.body.resourceType, 'OperationOutcome');
  const same = await fhir('PUT', `${B}/Basic/inm-a`, basic('inm-a', 'first'), { 'if-none-match': '*' });
  t.equal(same.status, 412, 'also when the content is unchanged');
  const tag = await fhir('PUT', `${B}/Basic/inm-a`, basic('inm-a', 'second'), { 'if-none-match': 'W/"1"' });
  t.equal(tag.status, 412, 'If-None-Match naming the current version -> 412');
  t.equal((await fhir('PUT', `${B}/Basic/inm-a`, basic('inm-a', 'second'), { 'if-none-match': '"1"' })).status, 412, 'strong form too');
  let now = await fhir('GET', `${B}/Basic/inm-a`);
  t.equal(now.headers.etag, 'W/"1"', 'nothing was written');
  t.equal(now.body.code.text, 'first');

  const other = await fhir('PUT', `${B}/Basic/inm-a`, basic('inm-a', 'second'), { 'if-none-match': 'W/"7", W/"8"' });
  t.equal(other.status, 200, 'ETags that are not current: the update goes on');
  t.equal(other.headers.etag, 'W/"2"');

  const patch = await fhir('PATCH', `${B}/Basic/inm-a`, JSON.stringify([{ op: 'replace', path: '/code/text', value: 'third' }]), {
    'content-type': 'application/json-patch+json',
    'if-none-match': 'W/"2"',
  });
  t.equal(patch.status, 412, 'PATCH with If-None-Match naming the current version -> 412');
  const del = await fhir('DELETE', `${B}/Basic/inm-a`, undefined, { 'if-none-match': '*' });
  t.equal(del.status, 412, 'DELETE with If-None-Match: * of an existing resource -> 412');
  now = await fhir('GET', `${B}/Basic/inm-a`);
  t.equal(now.headers.etag, 'W/"2"', 'still nothing written');

  t.equal((await fhir('DELETE', `${B}/Basic/inm-a`)).status, 204);
  const back = await fhir('PUT', `${B}/Basic/inm-a`, basic('inm-a', 'back'), { 'if-none-match': '*' });
  t.equal(back.status, 201, 'a deleted resource has no current representation: If-None-Match: * lets the PUT bring it back');

  const cond = await fhir('PUT', `${B}/Basic?_id=inm-a`, basic('inm-a', 'cond'), { 'if-none-match': '*' });
  t.equal(cond.status, 400, 'a conditional update refuses If-None-Match rather than ignoring it');
  t.equal(cond.body.issue[0].code, 'not-supported');
  t.equal((await fhir('DELETE', `${B}/Basic?_id=inm-a`, undefined, { 'if-none-match': '*' })).status, 400, 'so does a conditional delete');
  t.equal((await fhir('GET', `${B}/Basic/inm-a`)).body.code.text, 'back', 'nothing written by the refused ones');
});

t.test('every 405 carries Allow, naming methods the path serves (RFC 9110 15.5.6)', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  await fhir('PUT', `${B}/Patient/allow-1`, { resourceType: 'Patient', id: 'allow-1' });
  const allowOf = (r: { headers: Record<string, unknown> }) => String(r.headers.allow ?? '');
  const cases: Array<[string, string, unknown, string]> = [
    ['POST', 'Patient/abc', { resourceType: 'Patient' }, 'DELETE, GET, HEAD, PATCH, PUT'],
    ['POST', 'AuditEvent', { resourceType: 'AuditEvent' }, 'GET, HEAD'],
    ['PUT', 'AuditEvent/x', { resourceType: 'AuditEvent', id: 'x' }, 'GET, HEAD'],
    ['DELETE', 'AuditEvent/x', undefined, 'GET, HEAD'],
    ['GET', 'Patient/allow-1/$validate', undefined, 'POST'],
    ['GET', 'Patient/$validate', undefined, 'POST'],
    ['POST', '$ccm-worklist', { resourceType: 'Parameters' }, 'GET, HEAD'],
    // An operation is invoked with GET or POST: other methods on its path are 405 with what it takes,
    // not a conditional update, delete or patch of a type or id named '$...'.
    ['PUT', '$ccm-billing', { resourceType: 'Parameters' }, 'GET, HEAD, POST'],
    ['PATCH', '$ccm-billing', '[]', 'GET, HEAD, POST'],
    ['DELETE', '$ccm-worklist', undefined, 'GET, HEAD'],
    ['PUT', 'Patient/$validate', { resourceType: 'Patient' }, 'POST'],
    ['DELETE', 'Patient/$ccm-eligibility', undefined, 'GET, HEAD, POST'],
    ['PATCH', 'metadata', '[]', 'GET, HEAD'],
    ['POST', 'metadata', { resourceType: 'Patient' }, 'GET, HEAD'],
    ['PUT', 'metadata', { resourceType: 'Patient' }, 'GET, HEAD'],
    ['DELETE', 'metadata', undefined, 'GET, HEAD'],
    ['POST', '_history', { resourceType: 'Patient' }, 'GET, HEAD'],
    ['GET', '_search', undefined, 'POST'],
    ['PUT', 'Patient/_history', { resourceType: 'Patient' }, 'GET, HEAD'],
    ['PUT', 'Patient/allow-1/_history/1', { resourceType: 'Patient' }, 'GET, HEAD'],
  ];
  for (const [method, path, body, allow] of cases) {
    const r = await fhir(method, `${B}/${path}`, body, typeof body === 'string' ? { 'content-type': 'application/json-patch+json' } : {});
    t.equal(r.status, 405, `${method} ${path} -> 405`);
    t.equal(allowOf(r), allow, `${method} ${path}: Allow: ${allow}`);
    t.equal(r.body?.resourceType, 'OperationOutcome');
    // What Allow names is served (GET of each path that lists it does not 404 or 405).
    if (allow.includes('GET') && !path.includes('$')) t.not([404, 405].includes((await fhir('GET', `${B}/${path.replace('Patient/abc', 'Patient/allow-1').replace('AuditEvent/x', 'AuditEvent')}`)).status), true, `GET ${path} is served`);
  }
  t.equal((await fhir('GET', `${B}/metadata`)).status, 200);
  t.equal((await fhir('POST', `${B}/Foo`, { resourceType: 'Foo' })).status, 404, 'an unknown type stays a 404');
  t.equal((await fhir('PUT', `${B}/Patient/bad_id`, { resourceType: 'Patient', id: 'bad_id' })).status, 400, 'an invalid id stays a 400');
});

t.test('content negotiation weighs Accept ranges by q (RFC 9110 12.5.1); q=0 is not acceptable', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  await fhir('PUT', `${B}/Patient/q-1`, { resourceType: 'Patient', id: 'q-1' });
  const { request } = await import('undici');
  /** The media type a GET of `path` answers with for `accept`, or its status when not 200. */
  const answered = async (path: string, accept: string) => {
    const r = await request(`${B}/${path}`, { headers: { accept } });
    await r.body.arrayBuffer();
    return r.statusCode === 200 ? String(r.headers['content-type']).split(';')[0] : r.statusCode;
  };
  const typeOf = (accept: string) => answered('Patient/q-1', accept);
  const cases: Array<[string, string | number]> = [
    ['application/fhir+json;q=0, application/json', 'application/json'],
    ['application/fhir+json;q=0.5, application/json', 'application/json'],
    ['application/json;q=0.5, application/fhir+json', 'application/fhir+json'],
    ['application/json, application/fhir+json;q=0.9', 'application/json'],
    ['application/fhir+json;q=0, */*', 'application/json'],
    ['application/json;q=0, */*', 'application/fhir+json'],
    ['application/json, */*', 'application/json'],
    ['application/fhir+json, application/json', 'application/fhir+json'],
    ['*/*', 'application/fhir+json'],
    ['application/fhir+json;q=0', 406],
    ['application/fhir+json;q=0, application/json;q=0', 406],
    ['*/*;q=0', 406],
    ['application/json;q=0, application/fhir+json;q=0.001', 'application/fhir+json'],
    ['application/*;q=0.2, application/fhir+json;q=0', 'application/json'],
  ];
  for (const [accept, want] of cases) t.equal(await typeOf(accept), want, `Accept: ${accept} -> ${want}`);

  const pdf = Buffer.from('%PDF-1.4 q test\n');
  const created = await request(`${B}/Binary`, { method: 'POST', headers: { 'content-type': 'application/pdf' }, body: pdf });
  t.equal(created.statusCode, 201);
  await created.body.text();
  const id = String(created.headers.location).split('/Binary/')[1].split('/')[0];
  const binaryType = (accept: string) => answered(`Binary/${id}`, accept);
  const binaryCases: Array<[string, string | number]> = [
    ['application/fhir+json;q=0, application/pdf', 'application/pdf'],
    ['application/fhir+json;q=0.1, application/pdf', 'application/pdf'],
    ['application/fhir+json, application/pdf;q=0.5', 'application/fhir+json'],
    ['application/fhir+json, application/pdf', 'application/fhir+json'],
    ['application/fhir+json', 'application/fhir+json'],
    ['application/pdf;q=0, */*;q=0.1', 'application/fhir+json'],
    ['application/fhir+json;q=0', 406],
    ['application/pdf', 'application/pdf'],
  ];
  for (const [accept, want] of binaryCases) t.equal(await binaryType(accept), want, `Binary, Accept: ${accept} -> ${want}`);
});
