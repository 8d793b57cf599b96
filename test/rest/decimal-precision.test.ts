import t from 'tap';
import { buildApp } from '../../src/app.js';
import { fhir, startServer } from '../helpers/server.js';

/**
 * datatypes.html#decimal: a decimal has implicit precision (1.50 g is not 1.5 g). The server
 * keeps each number as it was written, through every way a resource goes in and out.
 */
const LEXEMES = ['1.0', '1.50', '1E-22', '12345678901234567890', '-1.000000000000000000E+245', '0.10', '100.00'];

const observation = (id: string, values = LEXEMES) =>
  `{"resourceType":"Observation","id":"${id}","status":"final","code":{"text":"Decimal testing"},"subject":{"reference":"Patient/p"},"component":[` +
  values.map((v) => `{"code":{"text":"part"},"valueQuantity":{"value":${v},"unit":"g"}}`).join(',') +
  ']}';

/** The texts of the component values, in order, as the server wrote them (compact or pretty). */
const valuesIn = (text: string) => [...text.matchAll(/"valueQuantity":\s*\{\s*"value":\s*([^,\s}]+)/g)].map((m) => m[1]);

t.test('decimals keep the text they were written with', async (t) => {
  const srv = await startServer();
  let restarted: Awaited<ReturnType<typeof buildApp>> | undefined;
  t.teardown(async () => {
    await restarted?.close();
    await srv.close();
  });
  const B = srv.base;
  t.equal((await fhir('PUT', `${B}/Patient/p`, { resourceType: 'Patient', id: 'p' })).status, 201);

  const created = await fhir('PUT', `${B}/Observation/dec`, observation('dec'));
  t.equal(created.status, 201, 'stored');
  t.same(valuesIn(created.text), LEXEMES, 'the create answers with them');
  t.same(valuesIn((await fhir('GET', `${B}/Observation/dec`)).text), LEXEMES, 'read');
  t.same(valuesIn((await fhir('GET', `${B}/Observation/dec?_pretty=true`)).text), LEXEMES, 'read, _pretty');
  t.same(valuesIn((await fhir('GET', `${B}/Observation/dec?_elements=component`)).text), LEXEMES, 'read, _elements');
  t.same(valuesIn((await fhir('GET', `${B}/Observation/dec?_summary=true`)).text), LEXEMES, 'read, _summary=true (components are summary backbones)');
  t.same(valuesIn((await fhir('GET', `${B}/Observation/dec/_history/1`)).text), LEXEMES, 'vread');
  for (const q of ['', '&_pretty=true', '&_elements=component', '&_summary=true', '&_summary=data']) {
    const page = await fhir('GET', `${B}/Observation?_id=dec${q}`);
    t.same(valuesIn(page.text), LEXEMES, `search${q || ''}`);
  }
  t.same(valuesIn((await fhir('GET', `${B}/Observation/dec/_history`)).text), LEXEMES, 'history');

  // The same content again is no change; the same values written otherwise are one.
  const same = await fhir('PUT', `${B}/Observation/dec`, observation('dec'));
  t.equal(same.headers.etag, 'W/"1"', 'identical text: no new version');
  const plain = LEXEMES.map((v) => JSON.stringify(Number(v)));
  const rewritten = await fhir('PUT', `${B}/Observation/dec`, observation('dec', plain));
  t.equal(rewritten.headers.etag, 'W/"2"', '1.5 for 1.50 is a change: a new version');
  t.same(valuesIn((await fhir('GET', `${B}/Observation/dec`)).text), plain, 'now as written the second time');
  t.same(valuesIn((await fhir('GET', `${B}/Observation/dec/_history/1`)).text), LEXEMES, 'version 1 unchanged');

  // PATCH keeps the numbers it does not touch; a replaced one is written as sent.
  t.equal((await fhir('PUT', `${B}/Observation/dec`, observation('dec'))).headers.etag, 'W/"3"');
  const patched = await fhir('PATCH', `${B}/Observation/dec`, '[{"op":"replace","path":"/status","value":"amended"},{"op":"replace","path":"/component/1/valueQuantity/value","value":2.5}]', {
    'content-type': 'application/json-patch+json',
  });
  t.equal(patched.status, 200, 'patched');
  const afterPatch = [...LEXEMES];
  afterPatch[1] = '2.5';
  t.same(valuesIn((await fhir('GET', `${B}/Observation/dec`)).text), afterPatch, 'PATCH: the other numbers as they were');

  // A transaction: entries keep theirs, in the store and in the answer.
  const tx = `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:0b5a4c4e-8f0e-4f43-9d5e-1f3a2b6c7d8e","resource":${observation('x').replace('"id":"x",', '')},"request":{"method":"POST","url":"Observation"}}]}`;
  const txRes = await fhir('POST', B, tx, { prefer: 'return=representation' });
  t.equal(txRes.status, 200, 'transaction');
  t.same(valuesIn(txRes.text), LEXEMES, 'the transaction answers with them');
  const location = txRes.body.entry[0].response.location as string;
  t.same(valuesIn((await fhir('GET', `${B}/${location.split('/_history')[0]}`)).text), LEXEMES, 'stored by the transaction');
  const batchRead = await fhir('POST', B, { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Observation/dec/_history/1' } }] });
  t.same(valuesIn(batchRead.text), LEXEMES, 'a batch read');
  for (const url of ['Observation?_id=dec', 'Observation/dec/_history/1']) {
    const nested = await fhir('POST', `${B}?_pretty=true`, { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url } }] });
    t.same(valuesIn(nested.text).slice(0, LEXEMES.length), url.includes('_id') ? afterPatch : LEXEMES, `a batch GET of ${url}, pretty`);
  }
  const shapedRead = await fhir('POST', B, { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Observation/dec?_elements=status' } }, { request: { method: 'GET', url: 'Observation/dec/_history/1?_summary=true' } }] });
  t.same(Object.keys(shapedRead.body.entry[0].resource).sort(), ['code', 'id', 'meta', 'resourceType', 'status'], 'a batch read honours _elements (mandatory code kept)');
  t.equal(shapedRead.body.entry[0].resource.meta.tag[0].code, 'SUBSETTED');
  t.same(valuesIn(shapedRead.text), LEXEMES, 'and a batch vread _summary=true, numbers as written');
  t.equal(shapedRead.body.entry[1].resource.text, undefined, '_summary=true leaves the narrative out');
  const historyInBatch = await fhir('POST', B, { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Observation/dec/_history?_count=1' } }] });
  t.same(valuesIn(historyInBatch.text), afterPatch, 'a history page inside a batch answer');
  t.same(valuesIn((await fhir('GET', `${B}/Observation/dec/_history?_pretty=true&_count=1`)).text), afterPatch, 'history, _pretty');

  // And after a restart, from the store's own files (or the database).
  await srv.built.close();
  const again = (restarted = await buildApp(srv.config, { logger: false }));
  await again.app.listen({ port: srv.config.port, host: '127.0.0.1' });
  t.same(valuesIn((await fhir('GET', `${B}/Observation/dec/_history/1`)).text), LEXEMES, 'after a restart');
  t.same(valuesIn((await fhir('GET', `${B}/Observation?_id=dec`)).text), afterPatch, 'after a restart, searched');
});

t.test('an integer written with a fraction or an exponent is no integer, though its value is whole', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const obs = (value: string) => `{"resourceType":"Observation","status":"final","code":{"text":"count"},"valueInteger":${value}}`;
  for (const bad of ['1.0', '1e2', '2.00E1']) {
    const res = await fhir('POST', `${B}/Observation`, obs(bad));
    t.equal(res.status, 422, `valueInteger ${bad}: refused`);
    t.match(res.body?.issue?.[0]?.diagnostics, `Not a valid integer: ${bad}`, 'says the value as written');
    t.same(res.body?.issue?.[0]?.expression, ['Observation.value.ofType(integer)'], 'says where');
  }
  const huge = await fhir('POST', `${B}/Observation`, '{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1e400}}');
  t.equal(huge.status, 422, 'a decimal past the range of a double is refused');
  t.match(huge.body?.issue?.[0]?.diagnostics, 'The decimal 1e400 is beyond the range of numbers this server holds', 'saying why');
  const multiple = await fhir('POST', `${B}/Patient`, '{"resourceType":"Patient","multipleBirthInteger":2.0}');
  t.equal(multiple.status, 422, 'a positive integer too');
  const ok = await fhir('POST', `${B}/Observation`, obs('10'));
  t.equal(ok.status, 201, 'a plain integer is fine');
  t.equal((await fhir('GET', `${B}/Observation?_summary=count`)).body.total, 1, 'nothing else was written');
});

t.test('JSON Patch: numbers keep their texts as values are replaced, moved, copied and shifted', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const patch = (url: string, ops: string) => fhir('PATCH', `${B}/${url}`, ops, { 'content-type': 'application/json-patch+json' });
  const seq = '{"resourceType":"MolecularSequence","id":"s","coordinateSystem":0,"quality":[{"type":"snp","roc":{"precision":[1.50,1.5,0.10],"sensitivity":[2.0]}}]}';
  t.equal((await fhir('PUT', `${B}/MolecularSequence/s`, seq)).status, 201);
  const precision = async () => /"precision":\[([^\]]*)\]/.exec((await fhir('GET', `${B}/MolecularSequence/s`)).text)?.[1];
  const sensitivity = async () => /"sensitivity":\[([^\]]*)\]/.exec((await fhir('GET', `${B}/MolecularSequence/s`)).text)?.[1];

  t.equal((await patch('MolecularSequence/s', '[{"op":"remove","path":"/quality/0/roc/precision/0"}]')).status, 200);
  t.equal(await precision(), '1.5,0.10', 'the items after a removed one keep their own texts');
  t.equal((await patch('MolecularSequence/s', '[{"op":"add","path":"/quality/0/roc/precision/0","value":3.00}]')).status, 200);
  t.equal(await precision(), '3.00,1.5,0.10', 'an added number keeps the text it was sent with; the others shift with theirs');
  t.equal((await patch('MolecularSequence/s', '[{"op":"copy","from":"/quality/0/roc/precision/2","path":"/quality/0/roc/sensitivity/-"}]')).status, 200);
  t.equal(await sensitivity(), '2.0,0.10', 'a copy carries the text');
  t.equal((await patch('MolecularSequence/s', '[{"op":"move","from":"/quality/0/roc/sensitivity/0","path":"/quality/0/roc/precision/-"}]')).status, 200);
  t.equal(await precision(), '3.00,1.5,0.10,2.0', 'a move carries the text');
  t.equal(await sensitivity(), '0.10');

  const replaced = await patch('MolecularSequence/s', '[{"op":"replace","path":"/quality/0/roc/precision/0","value":3}]');
  t.equal(replaced.headers.etag, 'W/"6"', '3 for 3.00 is a change');
  t.equal(await precision(), '3,1.5,0.10,2.0');
  const tested = await patch('MolecularSequence/s', '[{"op":"test","path":"/quality/0/roc/precision/2","value":0.1},{"op":"replace","path":"/quality/0/type","value":"indel"}]');
  t.equal(tested.status, 200, 'a test compares values: 0.1 tests a stored 0.10');
  const failed = await patch('MolecularSequence/s', '[{"op":"test","path":"/quality/0/roc/precision/2","value":0.2}]');
  t.equal(failed.status, 422, 'and a different value fails it');
  t.equal(await precision(), '3,1.5,0.10,2.0', 'the test left the texts as they were');
  const integer = await patch('MolecularSequence/s', '[{"op":"replace","path":"/coordinateSystem","value":1.0}]');
  t.equal(integer.status, 422, 'an integer element patched to 1.0 is refused');

  // A PATCH carried in a transaction as a Binary reads its JSON as a PATCH body does.
  const binary = (ops: string) => ({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [{ resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(ops).toString('base64') }, request: { method: 'PATCH', url: 'MolecularSequence/s' } }],
  });
  t.equal((await fhir('POST', B, binary('[{"op":"replace","path":"/quality/0/roc/precision/0","value":4.50}]'))).status, 200);
  t.equal(await precision(), '4.50,1.5,0.10,2.0', 'a transaction PATCH keeps the text it sends');
  const dup = await fhir('POST', B, binary('[{"op":"replace","op":"remove","path":"/quality"}]'));
  t.equal(dup.status, 400, 'a repeated key in it is a 400');
  t.equal(await precision(), '4.50,1.5,0.10,2.0', 'and changes nothing');
});
