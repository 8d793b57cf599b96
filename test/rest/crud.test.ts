import t from 'tap';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import { fhir, startServer } from '../helpers/server.js';
import { requires } from '../helpers/capabilities.js';

t.test('create, read, vread, update, delete, history', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;

  const created = await fhir('POST', `${B}/Patient`, { resourceType: 'Patient', id: 'ignored', name: [{ family: 'Alpha' }], gender: 'female' });
  t.equal(created.status, 201);
  const id = created.body.id as string;
  t.not(id, 'ignored', 'a create ignores the body id');
  t.equal(created.headers.etag, 'W/"1"');
  t.equal(created.headers.location, `${B}/Patient/${id}/_history/1`);
  t.ok(created.headers['last-modified']);
  t.match(String(created.headers['content-type']), /application\/fhir\+json/);
  t.equal(created.body.meta.versionId, '1');

  const read = await fhir('GET', `${B}/Patient/${id}`);
  t.equal(read.status, 200);
  t.same(read.body, created.body);
  t.equal(read.headers.etag, 'W/"1"');

  t.equal((await fhir('GET', `${B}/Patient/${id}`, undefined, { 'if-none-match': 'W/"1"' })).status, 304);
  t.equal((await fhir('GET', `${B}/Patient/${id}`, undefined, { 'if-none-match': 'W/"7"' })).status, 200);
  const lm = String(read.headers['last-modified']);
  t.equal((await fhir('GET', `${B}/Patient/${id}`, undefined, { 'if-modified-since': lm })).status, 304);
  t.equal((await fhir('GET', `${B}/Patient/${id}`, undefined, { 'if-modified-since': 'Mon, 01 Jan 2001 00:00:00 GMT' })).status, 200);

  const upd = await fhir('PUT', `${B}/Patient/${id}`, { ...created.body, gender: 'male' }, { 'if-match': 'W/"1"' });
  t.equal(upd.status, 200);
  t.equal(upd.headers.etag, 'W/"2"');
  t.equal(upd.body.gender, 'male');

  const stale = await fhir('PUT', `${B}/Patient/${id}`, { ...created.body, gender: 'other' }, { 'if-match': 'W/"1"' });
  t.equal(stale.status, 412, 'stale If-Match refused');
  t.equal(stale.body.resourceType, 'OperationOutcome');
  t.equal((await fhir('GET', `${B}/Patient/${id}`)).body.gender, 'male', 'nothing changed');

  const same = await fhir('PUT', `${B}/Patient/${id}`, { name: [{ family: 'Alpha' }], gender: 'male', id, resourceType: 'Patient' });
  t.equal(same.status, 200);
  t.equal(same.headers.etag, 'W/"2"', 'identical content creates no version');

  const v1 = await fhir('GET', `${B}/Patient/${id}/_history/1`);
  t.equal(v1.status, 200);
  t.equal(v1.body.gender, 'female');
  t.equal((await fhir('GET', `${B}/Patient/${id}/_history/9`)).status, 404);

  const asCreate = await fhir('PUT', `${B}/Patient/client-chosen-1`, { resourceType: 'Patient', id: 'client-chosen-1', active: true });
  t.equal(asCreate.status, 201, 'update as create');
  t.equal(asCreate.headers.location, `${B}/Patient/client-chosen-1/_history/1`);

  const del = await fhir('DELETE', `${B}/Patient/${id}`);
  t.equal(del.status, 204);
  const afterDel = await fhir('GET', `${B}/Patient/${id}`);
  t.equal(afterDel.status, 410);
  t.equal(afterDel.body.issue[0].code, 'deleted');
  t.equal((await fhir('DELETE', `${B}/Patient/${id}`)).status, 204, 'delete is idempotent');
  t.equal((await fhir('GET', `${B}/Patient/${id}/_history/2`)).status, 200, 'history kept after delete');
  t.equal((await fhir('GET', `${B}/Patient/${id}/_history/3`)).status, 410, 'the deletion version reads as gone');
  t.equal((await fhir('GET', `${B}/Patient/never`)).status, 404);
  // http.html#delete: "Upon successful deletion, or if the resource does not exist at all, the server should return ... 204".
  t.equal((await fhir('DELETE', `${B}/Patient/never`)).status, 204, 'deleting what never existed succeeds');
  t.equal((await fhir('GET', `${B}/Patient/never`)).status, 404, 'and writes nothing: still not found, not gone');
  t.equal((await fhir('GET', `${B}/Patient/never/_history`)).status, 404, 'no history was made: the history of a resource never written is a 404, as its read');
  const future = await fhir('GET', `${B}/Patient/${id}/_history?_since=2999-01-01T00:00:00Z`);
  t.equal(future.status, 200, 'a known resource whose versions _since leaves out: 200');
  t.equal(future.body.total, 0);
  t.equal((await fhir('GET', `${B}/Patient/${id}/_history?_at=1999-01-01`)).status, 200, 'and likewise _at');
  const ifMatchNever = await fhir('DELETE', `${B}/Patient/never`, undefined, { 'if-match': 'W/"1"' });
  t.equal(ifMatchNever.status, 412, 'If-Match names a version of nothing: the precondition fails (RFC 9110 13.1.1)');
  t.equal(ifMatchNever.body.resourceType, 'OperationOutcome');

  const hist = await fhir('GET', `${B}/Patient/${id}/_history`);
  t.equal(hist.status, 200);
  t.equal(hist.body.type, 'history');
  t.equal(hist.body.total, 3);
  t.same(hist.body.entry.map((e: any) => e.request.method), ['DELETE', 'PUT', 'POST']);
  t.same(hist.body.entry.map((e: any) => e.response.etag), ['W/"3"', 'W/"2"', 'W/"1"']);

  // type and system history with paging
  for (let i = 0; i < 5; i++) await fhir('POST', `${B}/Observation`, { resourceType: 'Observation', status: 'final', code: { text: `o${i}` } });
  const page1 = await fhir('GET', `${B}/_history?_count=4`);
  t.equal(page1.body.entry.length, 4);
  const next = page1.body.link.find((l: any) => l.relation === 'next');
  t.ok(next, 'next link');
  const page2 = await fhir('GET', next.url);
  const all = await fhir('GET', `${B}/_history?_count=100`);
  t.same([...page1.body.entry, ...page2.body.entry].map((e: any) => e.response.etag + e.fullUrl), all.body.entry.slice(0, 8).map((e: any) => e.response.etag + e.fullUrl));
  const typeHist = await fhir('GET', `${B}/Observation/_history`);
  t.equal(typeHist.body.total, 5);
  const sinceTs = all.body.entry[2].response.lastModified;
  const since = await fhir('GET', `${B}/_history?_since=${encodeURIComponent(sinceTs)}`);
  t.ok(since.body.entry.every((e: any) => e.response.lastModified >= sinceTs));
  t.equal(since.body.entry.length, 3);
  t.equal((await fhir('GET', `${B}/_history?_since=yesterday`)).status, 400);
  const at = await fhir('GET', `${B}/Patient/${id}/_history?_at=${encodeURIComponent(hist.body.entry[1].response.lastModified)}`);
  t.same(at.body.entry.map((e: any) => e.response.etag), ['W/"2"'], '_at gives the version current at that instant');

  // _summary and _elements shape history entries as they shape search entries (never ignored).
  const counted = await fhir('GET', `${B}/Observation/_history?_summary=count`);
  t.equal(counted.body.total, 5);
  t.notOk(counted.body.entry, '_summary=count: the total only');
  const slim = await fhir('GET', `${B}/Patient/${id}/_history?_elements=gender`);
  const kept = slim.body.entry.filter((e: any) => e.resource);
  t.equal(kept.length, 2, 'the deletion has no resource');
  for (const e of kept) {
    t.ok(e.resource.gender, '_elements: gender kept');
    t.notOk(e.resource.name, '_elements: name left out');
    t.ok(e.resource.meta.tag.some((tag: any) => tag.code === 'SUBSETTED'), 'and marked SUBSETTED');
    t.ok(e.request && e.response, 'request and response stay');
  }
  const sum = await fhir('GET', `${B}/Patient/${id}/_history?_summary=true`);
  t.same(sum.body.entry.map((e: any) => e.request.method), ['DELETE', 'PUT', 'POST']);
  // A version 1 made by PUT (update as create) shows as the PUT it was (Bundle.entry.request: how it was processed).
  const byPut = await fhir('GET', `${B}/Patient/client-chosen-1/_history`);
  t.same(byPut.body.entry.at(-1).request, { method: 'PUT', url: 'Patient/client-chosen-1' });
  t.ok(sum.body.entry.filter((e: any) => e.resource).every((e: any) => e.resource.meta.tag.some((tag: any) => tag.code === 'SUBSETTED')));
  t.equal((await fhir('GET', `${B}/_history?_summary=maybe`)).status, 400);
  // Empty parameters are ignored, as on a search (search.html#errors), and left out of the links.
  const full = await fhir('GET', `${B}/Patient/${id}/_history`);
  for (const q of ['_elements=', '_summary=', '_count=', '_since=', '_at=', '_page=', '_count=&_since=&_elements=']) {
    const r = await fhir('GET', `${B}/Patient/${id}/_history?${q}`);
    t.equal(r.status, 200, `${q}: ignored`);
    t.same(r.body.entry, full.body.entry, `${q}: the whole history, whole resources`);
    t.equal(r.body.link.find((l: any) => l.relation === 'self').url, `${B}/Patient/${id}/_history`, `${q}: not in the self link`);
  }
  const two = await fhir('GET', `${B}/_history?_count=2&_count=`);
  t.equal(two.body.entry.length, 2, 'an empty repeat does not hide the given value');
  t.equal(two.body.link.find((l: any) => l.relation === 'self').url, `${B}/_history?_count=2`);
  t.notOk(two.body.link.find((l: any) => l.relation === 'next').url.includes('_count=&'), 'nor is it in the next link');
  for (const q of ['_count=1&_count=2', '_since=2020-01-01T00:00:00Z&_since=2021-01-01T00:00:00Z', '_at=2020&_at=2021', '_summary=true&_summary=false', '_elements=gender&_elements=name']) {
    const r = await fhir('GET', `${B}/_history?${q}`);
    t.equal(r.status, 400, `${q}: a parameter given twice is refused`);
    t.match(r.body.issue[0].diagnostics, /may appear only once/);
  }
  t.equal((await fhir('GET', `${B}/_history?_count=2&_format=json&_format=json`)).status, 200, 'format parameters may repeat');
});

t.test('the fhirVersion MIME parameter (http.html#version-parameter) and $versions', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const id = (await fhir('POST', `${B}/Patient`, { resourceType: 'Patient', gender: 'other' })).body.id;
  const accept = (v: string) => fhir('GET', `${B}/Patient/${id}`, undefined, { accept: v });
  for (const ok of ['application/fhir+json; fhirVersion=4.0', 'application/fhir+json;fhirVersion=4.0.1', 'application/json; fhirVersion=4.0', 'application/fhir+json; fhirVersion=3.0, application/fhir+json; fhirVersion=4.0', 'application/fhir+json; fhirVersion=3.0, */*']) {
    t.equal((await accept(ok)).status, 200, `Accept: ${ok}`);
  }
  for (const no of ['application/fhir+json; fhirVersion=3.0', 'application/fhir+json; fhirVersion=5.0, application/json; fhirVersion=1.0']) {
    const r = await accept(no);
    t.equal(r.status, 406, `Accept: ${no} is refused`);
    t.match(r.body.issue[0].diagnostics, /4\.0/, 'naming the version served');
  }
  t.equal((await fhir('GET', `${B}/Patient/${id}?_format=${encodeURIComponent('application/fhir+json;fhirVersion=3.0')}`)).status, 406, '_format with another version');
  // Content negotiation: plain JSON asked for alone gets application/json, anything else FHIR JSON.
  for (const [a, type] of [['application/json', 'application/json'], ['application/fhir+json, application/json', 'application/fhir+json'], ['*/*', 'application/fhir+json'], ['application/xml, application/json;q=0.5', 'application/json']]) {
    t.equal(String((await accept(a)).headers['content-type']).split(';')[0], type, `Accept: ${a} → ${type}`);
  }
  const put = (ct: string) => fhir('PUT', `${B}/Patient/${id}`, { resourceType: 'Patient', id, gender: 'male' }, { 'content-type': ct });
  t.equal((await put('application/fhir+json; fhirVersion=3.0')).status, 415, 'a body of another version is refused');
  t.equal((await fhir('GET', `${B}/Patient/${id}`)).body.gender, 'other', 'and nothing was written');
  t.equal((await put('application/fhir+json; fhirVersion=4.0')).status, 200);
  const v = await fhir('GET', `${B}/$versions`);
  t.equal(v.status, 200);
  t.same(v.body, { resourceType: 'Parameters', parameter: [{ name: 'version', valueCode: '4.0' }, { name: 'default', valueCode: '4.0' }] });
  t.equal((await fhir('GET', `${B}/$versions?bogus=1`)).status, 400, '$versions takes no parameters');
});

t.test('HEAD answers with the headers of GET, Content-Length included, and no body', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const id = (await fhir('POST', `${B}/Patient`, { resourceType: 'Patient', gender: 'other' })).body.id;
  for (const path of [`Patient/${id}`, `Patient?_id=${id}`, `Patient/${id}/_history`, 'metadata']) {
    const get = await fhir('GET', `${B}/${path}`);
    const head = await fhir('HEAD', `${B}/${path}`);
    t.equal(head.status, get.status, `${path}: status`);
    t.equal(head.text, '', `${path}: no body`);
    t.equal(head.headers['content-type'], get.headers['content-type'], `${path}: Content-Type`);
    t.equal(head.headers.etag, get.headers.etag, `${path}: ETag`);
    // RFC 9110 8.6: a Content-Length on HEAD must be the length GET would send.
    if (head.headers['content-length'] !== undefined) t.equal(Number(head.headers['content-length']), Buffer.byteLength(get.text), `${path}: Content-Length`);
  }
});

t.test('a method the path does not take is a 405 with Allow; a path nothing serves is a 404', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const cases: Array<[string, string, string[]]> = [
    ['PATCH', 'Patient?identifier=x', ['DELETE', 'GET', 'POST', 'PUT']], // conditional patch is not offered
    ['DELETE', 'Patient/x/_history/1', ['GET']],
    ['PUT', 'Patient/x/_history', ['GET']],
  ];
  for (const [method, path, allow] of cases) {
    const r = await fhir(method, `${B}/${path}`, method === 'PATCH' || method === 'PUT' ? [] : undefined, method === 'PATCH' ? { 'content-type': 'application/json-patch+json' } : {});
    t.equal(r.status, 405, `${method} ${path}: 405`);
    const listed = String(r.headers.allow).split(',').map((m) => m.trim()).filter((m) => m !== 'HEAD' && m !== 'OPTIONS').sort();
    t.same(listed, allow, `${method} ${path}: Allow lists what the path takes`);
    t.equal(r.body.resourceType, 'OperationOutcome');
  }
  t.equal((await fhir('GET', `${B}/Patient/x/_history/1/more`)).status, 404, 'a path nothing serves');
  t.equal((await fhir('GET', `${srv.base.replace(/\/fhir$/, '')}/nothing-here`)).status, 404);
});

t.test('a trailing slash names the same resource or endpoint', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const made = await fhir('POST', `${B}/Patient/`, { resourceType: 'Patient', gender: 'other' });
  t.equal(made.status, 201, 'POST [type]/');
  const id = made.body.id;
  t.equal((await fhir('GET', `${B}/Patient/${id}/`)).body.id, id, 'GET [type]/[id]/');
  t.equal((await fhir('GET', `${B}/Patient/?_id=${id}`)).body.total, 1, 'GET [type]/?...');
  t.equal((await fhir('GET', `${B}/?_type=Patient&_id=${id}`)).body.total, 1, 'GET [base]/?...');
  const tx = await fhir('POST', `${B}/`, { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: `Patient/${id}` } }] });
  t.equal(tx.body.entry[0].response.status, '200', 'POST [base]/');
  t.equal((await fhir('GET', `${B}/metadata/`)).body.resourceType, 'CapabilityStatement');
});

t.test('Prefer, _format, _pretty, _summary, _elements, PATCH', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const pat = { resourceType: 'Patient', name: [{ family: 'Beta' }], gender: 'male', birthDate: '1950-01-01', text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Beta</div>' } };
  const minimal = await fhir('POST', `${B}/Patient`, pat, { prefer: 'return=minimal' });
  t.equal(minimal.status, 201);
  t.equal(minimal.text, '');
  const id = String(minimal.headers.location).split('/')[5];
  const oo = await fhir('POST', `${B}/Patient`, pat, { prefer: 'return=OperationOutcome' });
  t.equal(oo.body.resourceType, 'OperationOutcome');
  // A delete answers 204, or 200 with an OperationOutcome that says what it did when asked for one.
  const asOutcome = { prefer: 'return=OperationOutcome' };
  const doomed = String(oo.headers.location).split('/')[5];
  const del = await fhir('DELETE', `${B}/Patient/${doomed}`, undefined, asOutcome);
  t.equal(del.status, 200, 'delete with Prefer: return=OperationOutcome');
  t.equal(del.body.issue[0].diagnostics, `Patient/${doomed} deleted: version 2`);
  t.equal(del.headers.etag, 'W/"2"');
  t.equal((await fhir('DELETE', `${B}/Patient/${doomed}`, undefined, asOutcome)).body.issue[0].diagnostics, `Patient/${doomed} was already deleted (version 2)`);
  t.equal((await fhir('DELETE', `${B}/Patient/never-was`, undefined, asOutcome)).body.issue[0].diagnostics, 'Patient/never-was does not exist: nothing was deleted');
  const noMatch = await fhir('DELETE', `${B}/Patient?identifier=urn:x|nobody`, undefined, asOutcome);
  t.equal(noMatch.status, 200);
  t.equal(noMatch.body.issue[0].diagnostics, 'No Patient matched: nothing was deleted');
  t.same(noMatch.body.issue.map((i: { severity: string }) => i.severity), ['information'], 'information only: a delete that succeeded carries no error');
  const plain = await fhir('DELETE', `${B}/Patient/never-was-either`);
  t.equal(plain.status, 204, 'without the Prefer header: 204');
  t.equal(plain.text, '');

  t.equal((await fhir('GET', `${B}/Patient/${id}?_format=xml`)).status, 406);
  t.equal((await fhir('GET', `${B}/Patient/${id}`, undefined, { accept: 'application/fhir+xml' })).status, 406);
  t.equal((await fhir('GET', `${B}/Patient/${id}?_format=json`)).status, 200);
  // A write whose answer cannot be served is refused before it runs, and writes nothing.
  const total = async () => (await fhir('GET', `${B}/_history?_summary=count`)).body.total;
  const before = await total();
  const refusedWrites: Array<[string, string, object | undefined, Record<string, string>]> = [
    ['POST', `${B}/Patient`, { resourceType: 'Patient' }, { accept: 'text/html' }],
    ['POST', `${B}/Patient?_format=xml`, { resourceType: 'Patient' }, {}],
    ['PUT', `${B}/Patient/${id}`, { resourceType: 'Patient', id, active: false }, { accept: 'application/fhir+xml' }],
    ['DELETE', `${B}/Patient/${id}`, undefined, { accept: 'image/png' }],
    ['POST', B, { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } }] }, { accept: 'application/xml' }],
  ];
  for (const [method, url, body, headers] of refusedWrites) {
    const r = await fhir(method, url, body, headers);
    t.equal(r.status, 406, `${method} ${url.slice(B.length) || '/'} with ${JSON.stringify(headers)}: 406`);
    t.equal(r.body.resourceType, 'OperationOutcome');
  }
  t.equal(await total(), before, 'none of them wrote');
  t.equal((await fhir('GET', `${B}/Patient/${id}`)).status, 200, 'the DELETE did not run');
  const pretty = await fhir('GET', `${B}/Patient/${id}?_pretty=true`);
  t.match(pretty.text, /\n  "resourceType"/);
  // The same query parameters on a search, and on a path no route serves.
  t.equal((await fhir('GET', `${B}/Patient?_id=${id}&_format=xml`)).status, 406);
  const prettyPage = await fhir('GET', `${B}/Patient?_id=${id}&_pretty=true&_format=json`);
  t.match(prettyPage.text, /\n  "resourceType": "Bundle"/);
  t.equal(prettyPage.body.entry.length, 1);
  t.notMatch(prettyPage.body.link[0].url, /_format|_pretty/, 'format parameters are not search parameters');
  const nowhere = await fhir('GET', `${B}/Patient/${id}/x/y/z?_format=xml&a=b`);
  t.equal(nowhere.status, 404);
  t.equal(nowhere.body.resourceType, 'OperationOutcome');

  const summary = await fhir('GET', `${B}/Patient/${id}?_summary=true`);
  t.equal(summary.body.text, undefined, 'text is not a summary element of Patient');
  t.equal(summary.body.gender, 'male');
  t.ok(summary.body.meta.tag.some((c: any) => c.code === 'SUBSETTED'));
  const text = await fhir('GET', `${B}/Patient/${id}?_summary=text`);
  t.ok(text.body.text);
  t.equal(text.body.gender, undefined);
  const data = await fhir('GET', `${B}/Patient/${id}?_summary=data`);
  t.equal(data.body.text, undefined);
  t.equal(data.body.birthDate, '1950-01-01');
  const elements = await fhir('GET', `${B}/Patient/${id}?_elements=birthDate`);
  t.same(Object.keys(elements.body).sort(), ['birthDate', 'id', 'meta', 'resourceType']);
  t.equal((await fhir('GET', `${B}/Patient/${id}?_summary=bogus`)).status, 400);
  // A choice element by its JSON name (deceasedBoolean) or as value[x]; an element the type lacks is a 400, not an empty subset.
  const dead = (await fhir('POST', `${B}/Patient`, { ...pat, deceasedBoolean: false })).body.id;
  for (const e of ['deceasedBoolean', 'deceased', 'deceased[x]', 'Patient.deceasedBoolean']) {
    t.same(Object.keys((await fhir('GET', `${B}/Patient/${dead}?_elements=${encodeURIComponent(e)}`)).body).sort(), ['deceasedBoolean', 'id', 'meta', 'resourceType'], `_elements=${e}`);
  }
  const typo = await fhir('GET', `${B}/Patient/${id}?_elements=birthdate`);
  t.equal(typo.status, 400, 'an element Patient does not have is refused');
  t.match(typo.body.issue[0].diagnostics, 'birthdate');
  t.equal((await fhir('GET', `${B}/Patient?_elements=valueQuantity`)).status, 400, 'on a search too');
  t.equal((await fhir('GET', `${B}/Patient/${id}/_history?_elements=status`)).status, 400, 'and on history');

  const patched = await fhir('PATCH', `${B}/Patient/${id}`, [{ op: 'replace', path: '/gender', value: 'female' }, { op: 'add', path: '/active', value: true }], { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' });
  t.equal(patched.status, 200);
  t.equal(patched.body.gender, 'female');
  t.equal(patched.body.active, true);
  t.equal(patched.headers.etag, 'W/"2"');
  const failedTest = await fhir('PATCH', `${B}/Patient/${id}`, [{ op: 'test', path: '/gender', value: 'male' }, { op: 'remove', path: '/active' }], { 'content-type': 'application/json-patch+json' });
  t.equal(failedTest.status, 422);
  t.equal((await fhir('PATCH', `${B}/Patient/${id}`, [{ op: 'replace', path: '/id', value: 'other' }], { 'content-type': 'application/json-patch+json' })).status, 422);
  t.equal((await fhir('PATCH', `${B}/Patient/${id}`, [{ op: 'replace', path: '/gender', value: 'male' }], { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' })).status, 412);
  t.equal((await fhir('PATCH', `${B}/Patient/${id}`, { op: 'replace' }, { 'content-type': 'application/json-patch+json' })).status, 400);
  t.equal((await fhir('GET', `${B}/Patient/${id}`)).body.meta.versionId, '2', 'failed patches changed nothing');
  const hist = await fhir('GET', `${B}/Patient/${id}/_history`);
  t.same(hist.body.entry[0].request, { method: 'PATCH', url: `Patient/${id}` }, 'history says a PATCH made version 2');
  const txPatch = await fhir('POST', B, {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [{ resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(JSON.stringify([{ op: 'replace', path: '/gender', value: 'other' }])).toString('base64') }, request: { method: 'PATCH', url: `Patient/${id}` } }],
  });
  t.equal(txPatch.status, 200);
  t.equal((await fhir('PUT', `${B}/Patient/${id}`, { resourceType: 'Patient', id, gender: 'unknown' })).status, 200);
  const after = await fhir('GET', `${B}/Patient/${id}/_history`);
  t.same(after.body.entry.slice(0, 3).map((e: { request: { method: string } }) => e.request.method), ['PUT', 'PATCH', 'PATCH'], 'a transaction\'s PATCH entry too; a PUT after them is a PUT');
});

t.test('errors are OperationOutcomes with the right code and change nothing', async (t) => {
  const srv = await startServer({ bodyLimit: 2000 });
  t.teardown(() => srv.close());
  const B = srv.base;
  const cases: Array<[string, string, string, unknown, number, string]> = [
    ['malformed JSON', 'POST', `${B}/Patient`, '{"resourceType": "Patient",', 400, 'structure'],
    ['resourceType differs from URL', 'POST', `${B}/Patient`, { resourceType: 'Observation', status: 'final', code: { text: 'x' } }, 400, 'invalid'],
    ['body id differs from URL id', 'PUT', `${B}/Patient/abc`, { resourceType: 'Patient', id: 'xyz' }, 400, 'invalid'],
    ['update without body id', 'PUT', `${B}/Patient/abc`, { resourceType: 'Patient' }, 400, 'required'],
    ['unknown resource type', 'POST', `${B}/Patientt`, { resourceType: 'Patientt' }, 404, 'not-supported'],
    ['unknown type on read', 'GET', `${B}/Frobnicator/1`, undefined, 404, 'not-supported'],
    ['bad id', 'GET', `${B}/Patient/${'x'.repeat(65)}`, undefined, 400, 'value'],
    ['oversize body', 'POST', `${B}/Patient`, { resourceType: 'Patient', name: [{ text: 'x'.repeat(3000) }] }, 413, 'too-costly'],
    ['not a JSON array patch', 'PATCH', `${B}/Patient/abc`, undefined, 415, 'not-supported'],
    ['transaction of wrong type', 'POST', B, { resourceType: 'Bundle', type: 'collection' }, 400, 'invalid'],
  ];
  for (const [name, method, url, body, status, code] of cases) {
    const r = await fhir(method, url, body);
    t.equal(r.status, status, `${name}: status`);
    t.equal(r.body?.resourceType, 'OperationOutcome', `${name}: OperationOutcome`);
    t.equal(r.body?.issue?.[0]?.code, code, `${name}: issue code`);
    t.ok(r.body?.issue?.[0]?.diagnostics, `${name}: diagnostics`);
  }
  const unsupported = await fhir('POST', `${B}/Patient`, '<Patient/>', { 'content-type': 'application/fhir+xml' });
  t.equal(unsupported.status, 415);
  const hist = await fhir('GET', `${B}/_history`);
  t.equal(hist.body.total, 0, 'no refused request wrote anything');
});

t.test('requests refused before routing (bad HTTP, bad URL, headers too large) get OperationOutcomes too', async (t) => {
  const srv = await startServer();
  const port = new URL(srv.base).port;
  /** The raw response to bytes written on a fresh connection: status and parsed body. */
  const raw = (bytes: Buffer | string) =>
    new Promise<{ status: number; type: string; body: any }>((resolve, reject) => {
      const sock = connect(Number(port), '127.0.0.1', () => sock.write(bytes));
      const chunks: Buffer[] = [];
      sock.on('data', (c) => chunks.push(c));
      sock.on('error', reject);
      sock.on('close', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const [head, body] = [text.slice(0, text.indexOf('\r\n\r\n')), text.slice(text.indexOf('\r\n\r\n') + 4)];
        resolve({ status: Number(head.split(' ')[1]), type: /content-type: ([^\r]*)/i.exec(head)?.[1] ?? '', body: JSON.parse(body) });
      });
    });
  const cases: Array<[string, Buffer | string, number, string, RegExp]> = [
    ['a raw non-ASCII byte in the URL', Buffer.concat([Buffer.from('GET /fhir/Patient?name='), Buffer.from([0xc3, 0xa9]), Buffer.from(' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]), 400, 'structure', /the URL has a character a URL may not \(a raw non-ASCII byte/],
    ['a malformed request line', 'GET\r\n\r\n', 400, 'structure', /request line is malformed/],
    ['an unknown method', 'FOO / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400, 'structure', /unknown HTTP method 'FOO'$/],
    ['a bad HTTP version', 'GET /fhir/metadata HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n', 400, 'structure', /valid HTTP version/],
    ['a bad header name', 'GET /fhir/metadata HTTP/1.1\r\nHo st: x\r\nConnection: close\r\n\r\n', 400, 'structure', /header name or value/],
    ['headers over the limit', `GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\nConnection: close\r\n\r\n`, 431, 'too-costly', /headers are larger/],
    ['a bad percent-escape in the path', 'GET /fhir/Patient/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400, 'invalid', /percent-encoded/],
  ];
  for (const [name, bytes, status, code, says] of cases) {
    const r = await raw(bytes);
    t.equal(r.status, status, `${name}: status`);
    t.match(r.type, /^application\/fhir\+json/, `${name}: FHIR JSON`);
    t.equal(r.body.resourceType, 'OperationOutcome', `${name}: OperationOutcome`);
    t.equal(r.body.issue[0].code, code, `${name}: issue code`);
    t.match(r.body.issue[0].diagnostics, says, `${name}: says what is wrong`);
  }
  t.notMatch((await raw('FOO / HTTP/1.1\r\nHost: x\r\n\r\n')).body.issue[0].diagnostics, /non-ASCII/, 'an unknown method is not blamed on the URL');
  await srv.close();
});

t.test('while the server closes, an in-flight write finishes and a request arriving after it is a 503 OperationOutcome', await requires('transactions', 'the in-flight write is a transaction of 2000 resources'), async (t) => {
  const srv = await startServer();
  const app = srv.built.app;
  const entry = Array.from({ length: 2000 }, () => ({ resource: { resourceType: 'Basic', code: { text: 'x' } }, request: { method: 'POST', url: 'Basic' } }));
  // One transaction: the store's close waits for it (an injected request is not an HTTP connection Fastify waits for).
  const inflight = app.inject({ method: 'POST', url: '/fhir', headers: { 'content-type': 'application/fhir+json' }, payload: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }) });
  await new Promise((r) => setTimeout(r, 5));
  // The app itself: the test helper's close() first tidies up (a MongoDB database), so the app would close later.
  const closing = srv.built.close();
  const late = await app.inject({ method: 'GET', url: '/fhir/metadata' });
  t.equal(late.statusCode, 503);
  t.equal(late.headers.connection, 'close');
  t.equal(JSON.parse(late.body).issue[0].code, 'transient');
  t.equal((await inflight).statusCode, 200, 'the in-flight transaction completed');
  await closing;
  await srv.close();
});

t.test('metadata is generated from what the server supports', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const cs = (await fhir('GET', `${srv.base}/metadata`)).body;
  t.equal(cs.resourceType, 'CapabilityStatement');
  t.equal(cs.fhirVersion, '4.0.1');
  const types = cs.rest[0].resource.map((r: any) => r.type);
  t.equal(types.length, 146, 'every R4 resource type');
  t.ok(types.includes('CarePlan') && types.includes('ServiceRequest') && types.includes('Consent'));
  const cond = cs.rest[0].resource.find((r: any) => r.type === 'Condition');
  t.ok(cond.searchParam.some((p: any) => p.name === 'patient'));
  t.same(cs.rest[0].interaction.map((i: any) => i.code).sort(), ['batch', 'history-system', 'search-system', 'transaction']);
  const health = await fhir('GET', srv.base.replace(/\/fhir$/, '/healthz'));
  t.equal(health.status, 200);
  const ready = await fhir('GET', srv.base.replace(/\/fhir$/, '/readyz'));
  t.equal(ready.status, 200);
});

t.test('refused writes say which part of the request is wrong, and write nothing', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const JP = { 'content-type': 'application/json-patch+json' };
  const made = await fhir('PUT', `${B}/Patient/p1`, { resourceType: 'Patient', id: 'p1', gender: 'male', name: [{ family: 'Alpha' }] });
  t.equal(made.status, 201);
  const refused = (r: Awaited<ReturnType<typeof fhir>>, status: number, says: RegExp, name: string) => {
    t.equal(r.status, status, `${name}: status`);
    t.equal(r.body?.resourceType, 'OperationOutcome', `${name}: OperationOutcome`);
    t.match(r.body?.issue?.[0]?.diagnostics, says, `${name}: diagnostics`);
    return r.body?.issue?.[0];
  };

  // JSON Patch: the failed operation is named by index, op and path.
  refused(await fhir('PATCH', `${B}/Patient/p1`, [{ op: 'add', path: '/active', value: true }, { op: 'test', path: '/gender', value: 'female' }], JP), 422,
    /^The patch could not be applied: operation 1 \(test \/gender\): the value at the path is not the value the test gives$/, 'failed test');
  refused(await fhir('PATCH', `${B}/Patient/p1`, [{ op: 'replace', path: '/birthDate', value: '2000-01-01' }], JP), 422,
    /operation 0 \(replace \/birthDate\): the path does not exist/, 'replace on a missing path');
  const moved = refused(await fhir('PATCH', `${B}/Patient/p1`, [{ op: 'move', from: '/name', path: '/name/0/x' }], JP), 422,
    /^The patch could not be applied: operation 0 \(move \/name\/0\/x from \/name\): it cannot be applied to this resource$/, 'move into itself');
  t.notMatch(moved?.diagnostics, /undefined|reading|TypeError/, 'no internal error text');
  t.equal(moved?.code, 'processing');
  // RFC 6901: no leading zeros in an array index.
  refused(await fhir('PATCH', `${B}/Patient/p1`, [{ op: 'test', path: '/name/0/family', value: 'Alpha' }, { op: 'replace', path: '/name/00/family', value: 'Beta' }], JP), 400,
    /operation 1 \(replace \/name\/00\/family\): the array index '00' has a leading zero/, 'leading zero in path');
  refused(await fhir('PATCH', `${B}/Patient/p1`, [{ op: 'copy', from: '/name/01', path: '/name/-' }], JP), 400, /operation 0 \(copy \/name\/- from \/name\/01\)/, 'leading zero in from');
  t.equal((await fhir('GET', `${B}/Patient/p1`)).body.meta.versionId, '1', 'no patch wrote anything');

  // id and resourceType must be JSON strings.
  const numId = refused(await fhir('PUT', `${B}/Patient/5`, { resourceType: 'Patient', id: 5 }), 400, /^The Patient id must be a JSON string, not a number \(5\)$/, 'numeric id');
  t.same(numId?.expression, ['Resource.id']);
  const numType = refused(await fhir('PUT', `${B}/Patient/5`, { resourceType: 5, id: '5' }), 400, /^resourceType must be a JSON string \('Patient'\), not a number \(5\)$/, 'numeric resourceType');
  t.same(numType?.expression, ['Resource.resourceType']);
  refused(await fhir('POST', `${B}/Patient`, { resourceType: 'Patient', id: null }), 400, /id must be a JSON string, not null/, 'null id on create');
  refused(await fhir('PUT', `${B}/Patient?identifier=x`, { resourceType: 'Patient', id: 7 }), 400, /id must be a JSON string/, 'numeric id on a conditional update');
  t.equal((await fhir('GET', `${B}/Patient/5`)).status, 404, 'nothing written');

  // A form is a _search body only.
  const form = refused(await fhir('POST', `${B}/Patient`, 'resourceType=Patient', { 'content-type': 'application/x-www-form-urlencoded' }), 415, /does not take a form body \(only _search does\)/, 'create with a form');
  t.equal(form?.code, 'not-supported');
  refused(await fhir('PUT', `${B}/Patient/p1`, 'gender=female', { 'content-type': 'application/x-www-form-urlencoded' }), 415, /form body/, 'update with a form');
  t.equal((await fhir('POST', `${B}/Patient/p1/_history`, 'a=b', { 'content-type': 'application/x-www-form-urlencoded' })).status, 405, 'a path with no POST still answers 405');
  const bare = async (method: string, url: string, body: string | Buffer, headers: Record<string, string> = {}) => {
    const res = await request(url, { method: method as 'POST', headers, body });
    return { status: res.statusCode, headers: res.headers, body: JSON.parse(await res.body.text()), text: '' };
  };
  refused(await bare('POST', `${B}/Patient/_search`, 'gender=male'), 415, /^The body has no Content-Type: POST _search takes an application\/x-www-form-urlencoded body$/, '_search without a Content-Type');
  refused(await fhir('POST', `${B}/Patient/_search`, { gender: 'male' }), 415, /application\/x-www-form-urlencoded/, '_search with JSON');
  refused(await fhir('POST', `${B}/Patient`, '{}', { 'content-type': 'text/plain' }), 415, /^Content-Type 'text\/plain' is not supported: send application\/fhir\+json/, 'create as text/plain');

  // Content codings are not decoded: refused before the body is read.
  const gz = gzipSync(JSON.stringify({ resourceType: 'Patient', gender: 'female' }));
  const coded = await bare('POST', `${B}/Patient`, gz, { 'content-type': 'application/fhir+json', 'content-encoding': 'gzip' });
  refused(coded, 415, /^Content-Encoding 'gzip' is not supported: send the body unencoded$/, 'gzip body');
  t.equal(coded.headers['accept-encoding'], 'identity', 'Accept-Encoding says what is accepted (RFC 9110 15.5.16)');
  refused(await fhir('PUT', `${B}/Patient/p1`, { resourceType: 'Patient', id: 'p1' }, { 'content-encoding': 'br' }), 415, /'br'/, 'br on an update');
  t.equal((await fhir('PUT', `${B}/Patient/p1`, { resourceType: 'Patient', id: 'p1', gender: 'male', name: [{ family: 'Alpha' }] }, { 'content-encoding': 'identity' })).status, 200, 'identity is no coding');
  t.equal((await fhir('GET', `${B}/Patient/p1`, undefined, { 'content-encoding': 'gzip' })).status, 200, 'a coding with no body is not looked at');

  // If-Match: the version is read as digits, never rounded.
  const huge = refused(await fhir('PUT', `${B}/Patient/p1`, { resourceType: 'Patient', id: 'p1', gender: 'other' }, { 'if-match': 'W/"99999999999999999999999"' }), 412,
    /^If-Match "W\/\\"99999999999999999999999\\"" names a version that cannot exist$/, 'If-Match with a huge version');
  t.notMatch(huge?.diagnostics, /e\+/, 'no exponent');
  refused(await fhir('DELETE', `${B}/Patient/p1`, undefined, { 'if-match': 'W/"99999999999999999999999"' }), 412, /cannot exist/, 'on a delete too');
  refused(await fhir('PUT', `${B}/Patient/p1`, { resourceType: 'Patient', id: 'p1' }, { 'if-match': 'W/"1' }), 400, /must be a version ETag/, 'an unbalanced quote is no ETag');
  refused(await fhir('PUT', `${B}/Patient/p1`, { resourceType: 'Patient', id: 'p1' }, { 'if-match': 'W/"1e3"' }), 400, /must be a version ETag/, 'nor is a number with an exponent');
  t.equal((await fhir('GET', `${B}/Patient/p1`)).body.meta.versionId, '1', 'nothing written');
  t.equal((await fhir('GET', `${B}/_history`)).body.total, 1, 'the one write of this test');
});
