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
  // The same rule for a transaction entry's ifNoneExist.
  const inTx = (criteria: string) => fhir('POST', B, { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: pat, request: { method: 'POST', url: 'Patient', ifNoneExist: criteria } }] });
  t.equal((await inTx('identifier=urn:mrn|B2')).status, 412, 'transaction ifNoneExist: two matches');
  const matched = await inTx('identifier=urn:mrn|A1');
  t.equal(matched.body.entry[0].response.status, '200 OK', 'transaction ifNoneExist: one match is returned');
  t.match(matched.body.entry[0].response.location, `Patient/${first.body.id}/_history/`);

  t.equal((await fhir('DELETE', `${B}/Patient?identifier=urn:mrn|A1`)).status, 204);
  t.equal((await fhir('GET', `${B}/Patient/${first.body.id}`)).status, 410);
  const twoDel = await fhir('DELETE', `${B}/Patient?identifier=urn:mrn|B2`);
  t.equal(twoDel.status, 412);
  // One issue code for too many matches, REST and bundles alike.
  for (const r of [twoDel, await fhir('PUT', `${B}/Patient?identifier=urn:mrn|B2`, { resourceType: 'Patient' }), await fhir('POST', `${B}/Patient`, pat, { 'if-none-exist': 'identifier=urn:mrn|B2' }), await inTx('identifier=urn:mrn|B2')]) {
    t.equal(r.body.issue[0].code, 'multiple-matches');
  }
  t.equal((await fhir('DELETE', `${B}/Patient?identifier=urn:mrn|none`)).status, 204);
  t.equal((await fhir('POST', `${B}/Patient`, pat, { 'if-none-exist': 'bogus-param=1' })).status, 400, 'unknown criteria are refused, not ignored');
  // Only _format and _pretty themselves shape the response: a parameter that merely starts with
  // "_format" is an unknown criterion, refused before anything is written or deleted.
  const b2 = (await fhir('GET', `${B}/Patient?identifier=urn:mrn|B2`)).body.entry.map((e: { resource: { id: string } }) => e.resource.id).sort();
  t.equal(b2.length, 2);
  const delOdd = await fhir('DELETE', `${B}/Patient?identifier=urn:mrn|B2&_id=${b2[0]}&_formatx=1`);
  t.equal(delOdd.status, 400, 'conditional delete: _formatx is refused, not dropped');
  t.match(JSON.stringify(delOdd.body), '_formatx');
  t.equal((await fhir('GET', `${B}/Patient/${b2[0]}`)).status, 200, 'nothing was deleted');
  const putOdd = await fhir('PUT', `${B}/Patient?identifier=urn:mrn|B2&_id=${b2[0]}&_format_=1`, { resourceType: 'Patient', active: false });
  t.equal(putOdd.status, 400, 'conditional update: _format_ is refused, not dropped');
  t.notOk((await fhir('GET', `${B}/Patient/${b2[0]}`)).body.active === false, 'nothing was updated');
  t.equal((await fhir('DELETE', `${B}/Patient?identifier=urn:mrn|B2&_id=${b2[0]}&_pretty=true`)).status, 204, '_pretty is not a criterion');
  t.equal((await fhir('GET', `${B}/Patient/${b2[0]}`)).status, 410);
});

t.test("a conditional update's body id (http.html#cond-update), the same over REST, in a transaction and in a batch, with validation on and off", async (t) => {
  for (const validate of [true, false]) {
    const srv = await startServer({ validate });
    t.teardown(() => srv.close());
    const B = srv.base;
    const body = (id: string | undefined, mrn: string) => ({ resourceType: 'Patient', ...(id === undefined ? {} : { id }), identifier: [{ system: 'urn:mrn', value: mrn }] });
    /** PUT Patient?identifier=urn:mrn|{mrn} three ways: status and the id written (from Location). */
    const ways: Record<string, (id: string | undefined, mrn: string) => Promise<{ status: number; id?: string }>> = {
      rest: async (id, mrn) => {
        const r = await fhir('PUT', `${B}/Patient?identifier=urn:mrn|${mrn}`, body(id, mrn));
        return { status: r.status, id: r.status < 300 ? r.body.id : undefined };
      },
      ...Object.fromEntries(
        (['transaction', 'batch'] as const).map((type) => [
          type,
          async (id: string | undefined, mrn: string) => {
            const r = await fhir('POST', B, { resourceType: 'Bundle', type, entry: [{ resource: body(id, mrn), request: { method: 'PUT', url: `Patient?identifier=urn:mrn|${mrn}` } }] });
            // A batch answers 200 with the entry's own status; a transaction answers with the failure.
            const e = r.status === 200 ? r.body.entry[0].response : undefined;
            const status = e ? Number(String(e.status).split(' ')[0]) : r.status;
            return { status, id: e?.location?.split('/')[1] };
          },
        ]),
      ),
    };
    for (const [way, put] of Object.entries(ways)) {
      const at = `validate=${validate}, ${way}`;
      const count = async () => (await fhir('GET', `${B}/Patient?_count=0&_total=accurate`)).body.total as number;
      const before = await count();
      const bad = await put('bad"id', `${way}-bad`);
      t.ok(bad.status >= 400 && bad.status < 500, `${at}: no match and a body id that is no FHIR id is refused (${bad.status})`);
      t.equal(await count(), before, `${at}: nothing stored`);
      const created = await put(`${way}-id.1`, `${way}-1`);
      t.same(created, { status: 201, id: `${way}-id.1` }, `${at}: no match, a body id: created under it`);
      const other = await put('another-id', `${way}-1`);
      t.equal(other.status, 400, `${at}: one match whose id differs from the body's is a 400`);
      t.equal((await fhir('GET', `${B}/Patient/another-id`)).status, 404, `${at}: and nothing was written under the body's id`);
      t.same(await put(`${way}-id.1`, `${way}-1`), { status: 200, id: `${way}-id.1` }, `${at}: one match, the same id: updated`);
      const fresh = await put(undefined, `${way}-2`);
      t.equal(fresh.status, 201, `${at}: no match, no id: created`);
      t.ok(fresh.id && fresh.id !== `${way}-id.1`, `${at}: under a new id`);
      // No match and a body id that holds another resource: not overwritten (update as create is for a free id).
      const taken = await put(`${way}-id.1`, `${way}-nobody`);
      t.equal(taken.status, 409, `${at}: no match, the body's id is another resource: 409`);
      const kept = await fhir('GET', `${B}/Patient/${way}-id.1`);
      t.same([kept.body.meta.versionId, kept.body.identifier[0].value], ['1', `${way}-1`], `${at}: which is left as it was`);
      // A deleted one is no resource: update as create brings it back.
      await fhir('DELETE', `${B}/Patient/${fresh.id}`);
      t.same(await put(fresh.id, `${way}-3`), { status: 201, id: fresh.id }, `${at}: no match, a deleted id: created again`);
    }
  }
});

t.test('a condition with a parameter that has no value is refused: a search would ignore it, and the write would widen', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const made = await fhir('POST', `${B}/Patient`, { resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: 'E1' }] });
  const id = String(made.headers.location).split('/')[5];
  t.equal((await fhir('GET', `${B}/Patient?identifier=`)).body.total, 1, 'a search ignores the empty parameter (search.html#errors)');
  const before = (await fhir('GET', `${B}/Patient`)).body.total;
  const refused = (r: { status: number; body: { issue?: Array<{ diagnostics?: string }> } }, what: string) => {
    t.equal(r.status, 400, what);
    t.match(r.body.issue?.[0]?.diagnostics ?? '', "'identifier' has no value", `${what}: says which`);
  };
  refused(await fhir('DELETE', `${B}/Patient?identifier=&_id=${id}`), 'conditional delete');
  refused(await fhir('PUT', `${B}/Patient?identifier=&_id=${id}`, { resourceType: 'Patient', active: false }), 'conditional update');
  refused(await fhir('POST', `${B}/Patient`, { resourceType: 'Patient' }, { 'if-none-exist': 'identifier=' }), 'conditional create');
  const tx = (entry: unknown) => fhir('POST', B, { resourceType: 'Bundle', type: 'transaction', entry: [entry] });
  t.equal((await tx({ request: { method: 'DELETE', url: 'Patient?identifier=' } })).status, 400, 'a transaction entry: conditional delete');
  t.equal((await tx({ resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=' } })).status, 400, 'a transaction entry: conditional create');
  t.equal((await tx({ resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient?identifier=' } }, request: { method: 'POST', url: 'Observation' } })).status, 400, 'a conditional reference');
  t.equal((await fhir('GET', `${B}/Patient/${id}`)).status, 200, 'the patient is still there');
  t.equal((await fhir('GET', `${B}/Patient`)).body.total, before, 'and nothing was created');
});

t.test('a condition with a result parameter is refused: _count, _sort, _summary select nothing, and alone they matched every resource', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const made = await fhir('POST', `${B}/Basic`, { resourceType: 'Basic', code: { text: 'only' } });
  const id = String(made.headers.location).split('/')[5];
  const refused = (r: { status: number; body: { issue?: Array<{ diagnostics?: string }> } }, what: string, name: string) => {
    t.equal(r.status, 400, what);
    t.match(r.body.issue?.[0]?.diagnostics ?? '', `'${name}' is a result parameter`, `${what}: says which`);
  };
  for (const q of ['_count=1', '_sort=_id', '_summary=count', '_total=none', '_elements=code', `_id=${id}&_count=1`]) {
    const name = q.includes('&') ? '_count' : q.split('=')[0];
    refused(await fhir('DELETE', `${B}/Basic?${q}`), `conditional delete ?${q}`, name);
    refused(await fhir('PUT', `${B}/Basic?${q}`, { resourceType: 'Basic', code: { text: 'overwritten' } }), `conditional update ?${q}`, name);
    refused(await fhir('POST', `${B}/Basic`, { resourceType: 'Basic', code: { text: 'again' } }, { 'if-none-exist': q }), `conditional create ${q}`, name);
  }
  const tx = (entry: unknown) => fhir('POST', B, { resourceType: 'Bundle', type: 'transaction', entry: [entry] });
  t.equal((await tx({ request: { method: 'DELETE', url: 'Basic?_count=1' } })).status, 400, 'a transaction entry');
  t.equal((await tx({ resource: { resourceType: 'Basic', code: { text: 'x' }, subject: { reference: 'Basic?_count=1' } }, request: { method: 'POST', url: 'Basic' } })).status, 400, 'a conditional reference');
  const still = await fhir('GET', `${B}/Basic/${id}`);
  t.equal(still.status, 200, 'the only Basic is still there');
  t.equal(still.body.meta.versionId, '1', 'unchanged');
  t.equal((await fhir('GET', `${B}/Basic`)).body.total, 1, 'and nothing was created');
});

t.test('a condition with no criteria is refused in a bundle as over REST: it would match every resource', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const made = await fhir('POST', `${B}/Patient`, { resourceType: 'Patient', active: true });
  const id = String(made.headers.location).split('/')[5];
  t.equal((await fhir('DELETE', `${B}/Patient?_format=json`)).status, 400, 'REST: a conditional delete whose only parameter is _format');
  const batch = await fhir('POST', B, {
    resourceType: 'Bundle',
    type: 'batch',
    entry: [
      { resource: { resourceType: 'Patient', active: false }, request: { method: 'POST', url: 'Patient', ifNoneExist: '?' } },
      { resource: { resourceType: 'Patient', active: false }, request: { method: 'POST', url: 'Patient', ifNoneExist: '' } },
      { request: { method: 'DELETE', url: 'Patient?_format=json' } },
      { resource: { resourceType: 'Patient', active: false }, request: { method: 'PUT', url: 'Patient?_pretty=true' } },
    ],
  });
  t.same(batch.body.entry.map((e: { response: { status: string } }) => e.response.status.slice(0, 3)), ['400', '400', '400', '400'], 'each entry refused, none matched the one Patient');
  const still = await fhir('GET', `${B}/Patient/${id}`);
  t.equal(still.status, 200, 'the Patient was not deleted');
  t.equal(still.body.active, true, 'nor overwritten');
  t.equal((await fhir('GET', `${B}/Patient`)).body.total, 1, 'and none was created');
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
