import t from 'tap';
import { fhir, startServer } from '../helpers/server.js';

t.test('conditional create, update and delete', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const pat = { resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: 'A1' }], active: true };
  const ine = { 'if-none-exist': 'identifier=urn:mrn|A1' };
  const first = await fhir('POST', `${B}/Patient`, pat, ine);
  t.equal(first.status, 201);
  const again = await fhir('POST', `${B}/Patient`, pat, ine);
  t.equal(again.status, 200, 'a match returns the existing resource');
  t.equal(again.body.id, first.body.id);

  const cu = await fhir('PUT', `${B}/Patient?identifier=urn:mrn|A1`, { ...pat, active: false });
  t.equal(cu.status, 200);
  t.equal(cu.body.id, first.body.id);
  t.equal(cu.body.active, false);
  const cuNew = await fhir('PUT', `${B}/Patient?identifier=urn:mrn|B2`, { resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: 'B2' }] });
  t.equal(cuNew.status, 201, 'no match: created');
  await fhir('POST', `${B}/Patient`, { resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: 'B2' }] });
  t.equal((await fhir('PUT', `${B}/Patient?identifier=urn:mrn|B2`, { resourceType: 'Patient' })).status, 412, 'two matches');
  t.equal((await fhir('POST', `${B}/Patient`, pat, { 'if-none-exist': 'identifier=urn:mrn|B2' })).status, 412);

  t.equal((await fhir('DELETE', `${B}/Patient?identifier=urn:mrn|A1`)).status, 204);
  t.equal((await fhir('GET', `${B}/Patient/${first.body.id}`)).status, 410);
  t.equal((await fhir('DELETE', `${B}/Patient?identifier=urn:mrn|B2`)).status, 412);
  t.equal((await fhir('DELETE', `${B}/Patient?identifier=urn:mrn|none`)).status, 204);
  t.equal((await fhir('POST', `${B}/Patient`, pat, { 'if-none-exist': 'bogus-param=1' })).status, 400, 'unknown criteria are refused, not ignored');
});

t.test('20 concurrent identical conditional creates leave exactly one resource', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const pat = { resourceType: 'Patient', identifier: [{ system: 'urn:race', value: 'R-1' }] };
  const results = await Promise.all(Array.from({ length: 20 }, () => fhir('POST', `${B}/Patient`, pat, { 'if-none-exist': 'identifier=urn:race|R-1' })));
  const statuses = results.map((r) => r.status).sort();
  t.equal(statuses.filter((s) => s === 201).length, 1, 'one create');
  t.equal(statuses.filter((s) => s === 200).length, 19, 'nineteen matches');
  t.equal(new Set(results.map((r) => r.body.id)).size, 1, 'all name the same resource');
  const found = await fhir('GET', `${B}/Patient?identifier=urn:race|R-1`);
  t.equal(found.body.total, 1);

  // the same race inside transactions
  const tx = () => fhir('POST', B, { resourceType: 'Bundle', type: 'transaction', entry: [
    { fullUrl: 'urn:uuid:1', resource: { resourceType: 'Patient', identifier: [{ system: 'urn:race', value: 'R-2' }] }, request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:race|R-2' } },
  ] });
  const txs = await Promise.all(Array.from({ length: 20 }, tx));
  t.ok(txs.every((r) => r.status === 200));
  t.equal((await fhir('GET', `${B}/Patient?identifier=urn:race|R-2`)).body.total, 1);
});
