import { randomBytes } from 'node:crypto';
import t from 'tap';
import { request } from 'undici';
import { fhir, startServer } from '../helpers/server.js';

/** A request whose body and answer are bytes. */
async function raw(method: string, url: string, body?: Buffer | string, headers: Record<string, string> = {}) {
  const res = await request(url, { method: method as 'GET', headers, body });
  return { status: res.statusCode, headers: res.headers, bytes: Buffer.from(await res.body.arrayBuffer()) };
}

t.test('Binary on the REST API (binary.html#rest)', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  // Every byte value, and more than 1 MB: base64Binary has no cap of its own.
  const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(3 * 1024 * 1024), Buffer.from([0, 255, 13, 10])]);

  t.test('content posted as itself is stored as a Binary', async (t) => {
    const created = await raw('POST', `${B}/Binary`, pdf, { 'content-type': 'application/pdf', 'x-security-context': 'Patient/p1', accept: 'application/fhir+json' });
    t.equal(created.status, 201);
    const binary = JSON.parse(created.bytes.toString());
    t.equal(binary.resourceType, 'Binary');
    t.equal(binary.contentType, 'application/pdf');
    t.same(binary.securityContext, { reference: 'Patient/p1' }, 'X-Security-Context gives securityContext');
    t.ok(Buffer.from(binary.data, 'base64').equals(pdf), 'data is the posted bytes');
    const id = binary.id as string;

    // A read that names no FHIR type gets the content, with the metadata in headers.
    for (const accept of [undefined, '*/*', 'application/pdf', 'application/*', 'text/html, application/pdf;q=0.5']) {
      const r = await raw('GET', `${B}/Binary/${id}`, undefined, accept === undefined ? {} : { accept });
      t.equal(r.status, 200, `Accept ${accept ?? '(none)'}`);
      t.equal(r.headers['content-type'], 'application/pdf', `Accept ${accept ?? '(none)'}: the content's type`);
      t.ok(r.bytes.equals(pdf), `Accept ${accept ?? '(none)'}: the bytes`);
      t.equal(r.headers.etag, 'W/"1"');
      t.ok(r.headers['last-modified']);
      t.equal(r.headers['x-security-context'], 'Patient/p1');
      t.equal(r.headers['x-content-type-options'], 'nosniff');
      t.equal(r.headers['content-security-policy'], 'sandbox', 'stored content never runs as a page of this origin');
    }
    const vread = await raw('GET', `${B}/Binary/${id}/_history/1`, undefined, { accept: 'application/pdf' });
    t.ok(vread.bytes.equals(pdf), 'vread too');
    const head = await raw('HEAD', `${B}/Binary/${id}`, undefined, { accept: 'application/pdf' });
    t.equal(head.status, 200);
    t.equal(head.headers['content-length'], String(pdf.length), 'HEAD has GET\'s length');
    t.equal(head.bytes.length, 0);
    const unchanged = await raw('GET', `${B}/Binary/${id}`, undefined, { accept: 'application/pdf', 'if-none-match': 'W/"1"' });
    t.equal(unchanged.status, 304);
    t.equal(unchanged.bytes.length, 0);

    // Asking for FHIR gets the resource.
    for (const [what, url, headers] of [
      ['Accept: application/fhir+json', `${B}/Binary/${id}`, { accept: 'application/fhir+json' }],
      ['a FHIR type among others', `${B}/Binary/${id}`, { accept: 'application/pdf, application/fhir+json' }],
      ['Accept: application/json (the content is no JSON)', `${B}/Binary/${id}`, { accept: 'application/json' }],
      ['_format=json', `${B}/Binary/${id}?_format=json`, {}],
    ] as Array<[string, string, Record<string, string>]>) {
      const r = await raw('GET', url, undefined, headers);
      t.equal(r.status, 200, what);
      t.match(String(r.headers['content-type']), /json/, `${what}: JSON`);
      t.equal(JSON.parse(r.bytes.toString()).resourceType, 'Binary', `${what}: the resource`);
    }
    // Neither the content's type nor FHIR: 406, naming both.
    const refused = await raw('GET', `${B}/Binary/${id}`, undefined, { accept: 'image/png' });
    t.equal(refused.status, 406);
    t.match(JSON.parse(refused.bytes.toString()).issue[0].diagnostics, /application\/pdf.*application\/fhir\+json/);
    const zero = await raw('GET', `${B}/Binary/${id}`, undefined, { accept: 'application/pdf;q=0, */*;q=0.1' });
    t.equal(zero.status, 200);
    t.equal(JSON.parse(zero.bytes.toString()).resourceType, 'Binary', 'q=0 on the content type refuses it, whatever */* says: the resource, which */* admits');
  });

  t.test('PUT with content updates (or creates) the Binary at that id', async (t) => {
    const put = await raw('PUT', `${B}/Binary/note1`, 'first text', { 'content-type': 'text/plain; charset=utf-8' });
    t.equal(put.status, 201);
    const again = await raw('PUT', `${B}/Binary/note1`, 'second text', { 'content-type': 'text/plain; charset=utf-8', 'if-match': 'W/"1"' });
    t.equal(again.status, 200);
    const r = await raw('GET', `${B}/Binary/note1`, undefined, { accept: 'text/plain' });
    t.equal(r.bytes.toString(), 'second text');
    t.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
    t.equal(r.headers.etag, 'W/"2"');
    const stale = await raw('PUT', `${B}/Binary/note1`, 'third', { 'content-type': 'text/plain', 'if-match': 'W/"1"' });
    t.equal(stale.status, 412, 'If-Match holds for content too');
    const empty = await raw('PUT', `${B}/Binary/empty1`, '', { 'content-type': 'application/octet-stream' });
    t.equal(empty.status, 201);
    const e = await raw('GET', `${B}/Binary/empty1`, undefined, { accept: '*/*' });
    t.equal(e.status, 200);
    t.equal(e.bytes.length, 0, 'no data: no content');
  });

  t.test('a Binary resource in FHIR JSON is still a resource', async (t) => {
    const r = await fhir('POST', `${B}/Binary`, { resourceType: 'Binary', contentType: 'text/plain', data: Buffer.from('as json').toString('base64') });
    t.equal(r.status, 201);
    const back = await raw('GET', `${B}/Binary/${r.body.id}`);
    t.equal(back.bytes.toString(), 'as json');
  });

  t.test('content is refused where it is not a Binary, and without a Content-Type', async (t) => {
    const before = (await fhir('GET', `${B}/_history?_summary=count`)).body.total;
    const cases: Array<[string, string, string, Record<string, string>, RegExp]> = [
      ['POST', `${B}/Patient`, 'x', { 'content-type': 'text/plain' }, /send application\/fhir\+json/],
      ['PUT', `${B}/Patient/p9`, 'x', { 'content-type': 'application/pdf' }, /send application\/fhir\+json/],
      ['POST', `${B}/Binary/$validate`, 'x', { 'content-type': 'application/pdf' }, /not supported/],
      ['PUT', `${B}/Binary/b9`, 'x', {}, /no Content-Type: send the content with its Content-Type/],
      ['POST', B, 'x', { 'content-type': 'application/pdf' }, /send application\/fhir\+json/],
    ];
    for (const [method, url, body, headers, message] of cases) {
      const r = await raw(method, url, body, { accept: 'application/fhir+json', ...headers });
      t.equal(r.status, 415, `${method} ${url.slice(B.length)} ${headers['content-type'] ?? '(no type)'}`);
      t.match(JSON.parse(r.bytes.toString()).issue[0].diagnostics, message);
    }
    t.equal((await fhir('GET', `${B}/_history?_summary=count`)).body.total, before, 'nothing written');
  });

  t.test('a content type that cannot be a header is served as the resource', async (t) => {
    // A code may hold a single whitespace character between others, a line feed too.
    const r = await fhir('POST', `${B}/Binary`, { resourceType: 'Binary', contentType: 'text/plain\nx-injected:1', data: 'AAAA' });
    t.equal(r.status, 201);
    const back = await raw('GET', `${B}/Binary/${r.body.id}`);
    t.equal(back.status, 200);
    t.match(String(back.headers['content-type']), /application\/fhir\+json/);
    t.equal(back.headers['x-injected'], undefined);
  });
});
