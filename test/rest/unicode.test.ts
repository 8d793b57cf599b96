import t from 'tap';
import { request } from 'undici';
import { fhir, startServer, type Res } from '../helpers/server.js';

/** A request whose body is sent as these exact bytes (fhir() would encode a string as UTF-8). */
async function raw(method: string, url: string, bytes: Buffer, contentType = 'application/fhir+json'): Promise<Res> {
  const res = await request(url, { method: method as 'POST', headers: { accept: 'application/fhir+json', 'content-type': contentType }, body: bytes });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : undefined, text };
}

const patientBytes = (family: Buffer) =>
  Buffer.concat([Buffer.from('{"resourceType":"Patient","name":[{"family":"'), family, Buffer.from('"}]}')]);

t.test('FHIR bodies are UTF-8: other bytes and charsets are refused, nothing written', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const total = async () => (await fhir('GET', `${B}/_history?_summary=count`)).body.total as number;
  const before = await total();

  for (const [label, bad] of [
    ['\\xff\\xfe', Buffer.from([0xff, 0xfe])],
    ['overlong \\xc0\\xaf', Buffer.from([0xc0, 0xaf])],
    ['UTF-8-encoded surrogate \\xed\\xa0\\x80', Buffer.from([0xed, 0xa0, 0x80])],
  ] as const) {
    const body = patientBytes(Buffer.concat([Buffer.from('Zyx'), bad]));
    const res = await raw('POST', `${B}/Patient`, body);
    t.equal(res.status, 400, `${label}: 400`);
    t.equal(res.body?.resourceType, 'OperationOutcome');
    t.equal(res.body?.issue?.[0]?.code, 'structure');
    t.match(res.body?.issue?.[0]?.diagnostics, /not valid UTF-8/);
    t.match(res.body?.issue?.[0]?.diagnostics, `byte offset ${body.indexOf(bad)}`, `${label}: says where`);
    t.notOk(res.text.includes('\ufffd'), 'nothing replaced by U+FFFD');
  }
  const latin1Put = Buffer.from('{"resourceType":"Patient","id":"utf8","name":[{"family":"M\xfcller"}]}', 'latin1');
  const put = await raw('PUT', `${B}/Patient/utf8`, latin1Put);
  t.equal(put.status, 400, 'a Latin-1 body without a charset is not UTF-8 either');
  t.match(put.body?.issue?.[0]?.diagnostics, `byte offset ${latin1Put.indexOf(0xfc)}`);

  const latin1 = patientBytes(Buffer.from('M\xfcller', 'latin1'));
  for (const ct of ['application/fhir+json; charset=iso-8859-1', 'application/fhir+json;charset="ISO-8859-1"', 'application/json; charset=windows-1252']) {
    const res = await raw('POST', `${B}/Patient`, latin1, ct);
    t.equal(res.status, 415, `${ct}: 415`);
    t.equal(res.body?.resourceType, 'OperationOutcome');
    t.equal(res.body?.issue?.[0]?.code, 'not-supported');
    t.match(res.body?.issue?.[0]?.diagnostics, /FHIR bodies are UTF-8/);
  }
  const form = await raw('POST', `${B}/Patient/_search`, Buffer.from('family=M\xfcller', 'latin1'), 'application/x-www-form-urlencoded; charset=iso-8859-1');
  t.equal(form.status, 415, 'a form body in another charset is refused too');
  t.equal(await total(), before, 'nothing was written');
});

t.test('valid UTF-8 with non-ASCII text is stored and read back unchanged', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const family = 'Müller 山田 😀';
  for (const ct of ['application/fhir+json', 'application/fhir+json; charset=UTF-8', 'application/fhir+json; charset="utf-8"']) {
    const created = await raw('POST', `${B}/Patient`, patientBytes(Buffer.from(family, 'utf8')), ct);
    t.equal(created.status, 201, `${ct}: 201`);
    const read = await fhir('GET', `${B}/Patient/${created.body.id}`);
    t.equal(read.body.name[0].family, family, 'read back identical');
  }
});

t.test('lone surrogates are refused with a 422 naming the element', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const total = async () => (await fhir('GET', `${B}/_history?_summary=count`)).body.total as number;
  const created = await fhir('POST', `${B}/Patient`, { resourceType: 'Patient', name: [{ family: 'Zyxwvut' }] });
  t.equal(created.status, 201);
  const id = created.body.id as string;
  const before = await total();
  const refused = (res: Res, expression: string, what: string) => {
    t.equal(res.status, 422, `${what}: 422`);
    t.equal(res.body?.resourceType, 'OperationOutcome');
    const i = (res.body?.issue ?? []).find((x: any) => x.severity === 'error');
    t.equal(i?.code, 'value', `${what}: code value`);
    t.same(i?.expression, [expression], `${what}: names the element`);
    t.match(i?.diagnostics, /lone surrogate/);
  };

  // JSON escapes: the text is valid UTF-8, the decoded string is not Unicode.
  refused(await fhir('POST', `${B}/Patient`, '{"resourceType":"Patient","name":[{"family":"Zyxwvut\\ud800"}]}'), 'Patient.name[0].family', 'lone high surrogate');
  refused(await fhir('POST', `${B}/Patient`, '{"resourceType":"Patient","name":[{"given":["a","\\udc00b"]}]}'), 'Patient.name[0].given[1]', 'lone low surrogate');
  refused(await fhir('POST', `${B}/Patient`, '{"resourceType":"Patient","name":[{"family":"\\udc00\\ud800"}]}'), 'Patient.name[0].family', 'reversed pair');
  refused(
    await fhir('PUT', `${B}/Patient/${id}`, `{"resourceType":"Patient","id":"${id}","name":[{"family":"Zyxwvut\\ud800"}]}`),
    'Patient.name[0].family',
    'update',
  );
  refused(
    await fhir('PATCH', `${B}/Patient/${id}`, '[{"op":"replace","path":"/name/0/family","value":"Zyxwvut\\ud800"}]', { 'content-type': 'application/json-patch+json' }),
    'Patient.name[0].family',
    'JSON Patch',
  );
  const tx = await fhir(
    'POST',
    B,
    '{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","name":[{"text":"\\ud83d"}]},"request":{"method":"POST","url":"Patient"}}]}',
  );
  t.equal(tx.status, 422, 'transaction: 422');
  t.ok((tx.body?.issue ?? []).some((i: any) => i.code === 'value' && (i.expression ?? []).includes('Bundle.entry[0].resource.name[0].text')), 'transaction: names the entry element');

  t.equal(await total(), before, 'nothing was written');
  const read = await fhir('GET', `${B}/Patient/${id}`);
  t.equal(read.body.meta.versionId, '1');
  t.equal(read.body.name[0].family, 'Zyxwvut');
  const pair = await fhir('POST', `${B}/Patient`, '{"resourceType":"Patient","name":[{"family":"Zyx\\ud83d\\ude00"}]}');
  t.equal(pair.status, 201, 'an escaped surrogate pair is one character and fine');
  t.equal((await fhir('GET', `${B}/Patient/${pair.body.id}`)).body.name[0].family, 'Zyx😀');
});

t.test('control characters draw a warning, not a refusal', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const res = await fhir('POST', `${B}/Patient`, { resourceType: 'Patient', name: [{ family: 'Zyx\u0001wvut' }] }, { prefer: 'return=OperationOutcome' });
  t.equal(res.status, 201, 'stored');
  const w = (res.body?.issue ?? []).filter((i: any) => i.severity === 'warning' && i.code === 'value');
  t.equal(w.length, 1, 'one warning');
  t.same(w[0]?.expression, ['Patient.name[0].family']);
  t.match(w[0]?.diagnostics, /control character \(U\+0001\)/);
  const v = await fhir('POST', `${B}/Patient/$validate`, { resourceType: 'Patient', name: [{ family: 'Zyx\u001fw', given: ['tab\tline\nfeed\r'] }] });
  const control = v.body.issue.filter((i: any) => /control character/.test(i.diagnostics));
  t.same(control.map((i: any) => i.expression[0]), ['Patient.name[0].family'], 'tab, LF and CR are fine');
});

t.test('Unicode spaces are string content: a no-break space, U+2028, U+3000 and U+FEFF are stored as sent', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  for (const [label, family] of [
    ['no-break space', 'Le\u00a0Gall'],
    ['narrow no-break space', 'Le\u202fGall'],
    ['line separator', 'a\u2028b'],
    ['ideographic space', '山田\u3000太郎'],
    ['byte order mark', '\ufeffX'],
  ] as const) {
    const created = await fhir('POST', `${srv.base}/Patient`, { resourceType: 'Patient', name: [{ family }], gender: 'unknown' });
    t.equal(created.status, 201, `${label}: accepted (the string regex's \\S is Java's: anything but ASCII whitespace)`);
    t.equal((await fhir('GET', `${srv.base}/Patient/${created.body?.id}`)).body?.name?.[0]?.family, family, `${label}: read back as sent`);
  }
  const uri = await fhir('POST', `${srv.base}/Patient`, { resourceType: 'Patient', implicitRules: 'http://example.org/a b' });
  t.equal(uri.status, 422, 'an ASCII space in a uri is still refused');
  t.equal((await fhir('POST', `${srv.base}/Patient`, { resourceType: 'Patient', implicitRules: 'http://example.org/a\u00a0b' })).status, 201, 'a no-break space is not whitespace to \\S');
});

t.test("a repeating primitive's value and _ arrays line up, null standing in only for an item the other array has", async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const ext = { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'masked' }] };
  const post = (name: Record<string, unknown>) => fhir('POST', `${srv.base}/Patient`, { resourceType: 'Patient', name: [name] });
  for (const [label, name] of [
    ['a null value with no _ array', { given: ['a', null] }],
    ['only a null value', { given: [null] }],
    ['arrays of different lengths', { given: ['a'], _given: [null, null] }],
    ['null in both arrays at one index', { given: ['a', null], _given: [null, null] }],
  ] as const) {
    const r = await post(name);
    t.equal(r.status, 422, `${label}: refused`);
    t.same(r.body?.issue?.[0]?.expression, ['Patient.name[0].given'], `${label}: says where`);
    t.match(r.body?.issue?.[0]?.diagnostics, /json\.html#primitive/);
  }
  const ok = await post({ given: ['a', null], _given: [null, ext] });
  t.equal(ok.status, 201, 'a null value whose _ item carries an extension is how the spec writes it');
  t.same((await fhir('GET', `${srv.base}/Patient/${ok.body.id}`)).body.name[0]._given, [null, ext], 'stored as sent');
  t.equal((await fhir('GET', `${srv.base}/Patient?_summary=count`)).body.total, 1, 'nothing else was written');
});

t.test("a primitive's _x object with only an id is fine beside its value, and an element without value or extension is not (ele-1)", async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const post = (body: Record<string, unknown>) => fhir('POST', `${srv.base}/Patient`, { resourceType: 'Patient', ...body });
  t.equal((await post({ gender: 'male', _gender: { id: 'g1' } })).status, 201, 'an id beside a value (US Core targeted provenance)');
  t.equal((await post({ name: [{ given: ['A', 'B'], _given: [{ id: 'x' }, null] }] })).status, 201, 'in a repeating element too');
  const alone = await post({ _gender: { id: 'g1' } });
  t.equal(alone.status, 422, 'an id without a value');
  t.same(alone.body?.issue?.[0]?.expression, ['Patient.gender']);
  const item = await post({ name: [{ given: ['A', null], _given: [null, { id: 'x' }] }] });
  t.equal(item.status, 422, 'an item with only an id and no value');
  t.same(item.body?.issue?.[0]?.expression, ['Patient.name[0].given[1]']);
  t.match(item.body?.issue?.[0]?.diagnostics, /ele-1/);
});
