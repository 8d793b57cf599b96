import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, Observation } from 'fhir/r4.js';
import { fhir, sharedData, startServer } from '../helpers/server.js';

/**
 * Search over HTTP on one Synthea patient, as a client meets it: UCUM units, strict and
 * lenient handling, _total modes over paging links, _list, _contained, POST _search.
 * Expected ids are computed from the bundle in plain TypeScript.
 */
const dir = sharedData();

t.test('search over HTTP', { skip: !dir && 'shared data absent' }, async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const bdir = join(dir!, 'synthea', 'bundles');
  // The smallest patient with enough to search: 120+ resources and 4+ distinct body weights in kg.
  // (Loading is most of this test's time over the wire on FerretDB.)
  const weightsIn = (b: Bundle) =>
    new Set(
      (b.entry ?? [])
        .map((e) => e.resource as Observation)
        .filter((r) => r.resourceType === 'Observation' && r.code.coding?.some((c) => c.code === '29463-7') && r.valueQuantity?.code === 'kg')
        .map((o) => o.valueQuantity!.value),
    ).size;
  const source = readdirSync(bdir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(bdir, f), 'utf8')) as Bundle)
    .filter((b) => (b.entry?.length ?? 0) >= 120 && weightsIn(b) >= 4)
    .sort((x, y) => x.entry!.length - y.entry!.length)[0];
  // keep the Synthea ids: each entry becomes an update-as-create (references are urn:uuid of those ids)
  const ids = new Map((source.entry ?? []).map((e) => [e.fullUrl!, `${e.resource!.resourceType}/${e.resource!.id}`]));
  const tx = JSON.parse(JSON.stringify(source, (k, v) => (k === 'reference' && typeof v === 'string' && ids.has(v) ? ids.get(v) : v))) as Bundle;
  tx.type = 'batch'; // entries independent (ids kept, references already Type/id): also runs where there are no transactions
  for (const e of tx.entry ?? []) {
    e.request = { method: 'PUT', url: `${e.resource!.resourceType}/${e.resource!.id}` };
    delete e.fullUrl;
  }
  const loaded = await fhir('POST', B, tx);
  t.equal(loaded.status, 200, 'the patient bundle loads');
  t.ok((loaded.body.entry ?? []).every((e: { response?: { status?: string } }) => /^20[01]/.test(e.response?.status ?? '')), 'every entry stored');
  const obs = (source.entry ?? []).map((e) => e.resource!).filter((r): r is Observation => r.resourceType === 'Observation');
  const matchIds = (b: Bundle) => (b.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => `${e.resource!.resourceType}/${e.resource!.id}`).sort();

  // UCUM: kg stored, g asked
  const UCUM = 'http://unitsofmeasure.org';
  const weights = obs.filter((o) => o.code.coding?.some((c) => c.code === '29463-7') && o.valueQuantity?.system === UCUM && o.valueQuantity.code === 'kg');
  // a threshold in grams between this patient's lightest and heaviest weight
  const kgs = [...new Set(weights.map((o) => o.valueQuantity!.value!))].sort((a, b) => a - b);
  const mid = Math.floor(kgs.length / 2);
  const grams = Math.round(((kgs[mid - 1] + kgs[mid]) / 2) * 1000); // halfway between two weights: no ties at the bound
  const heavy = weights.filter((o) => o.valueQuantity!.value! * 1000 >= grams);
  t.ok(heavy.length > 0 && heavy.length < weights.length, `${heavy.length} of ${weights.length} weights are ${grams} g or more`);
  const q = `code=${encodeURIComponent('http://loinc.org|29463-7')}&value-quantity=${encodeURIComponent(`ge${grams}|${UCUM}|g`)}&_count=1000`;
  const got = await fhir('GET', `${B}/Observation?${q}`);
  t.equal(got.status, 200);
  t.same(matchIds(got.body), heavy.map((o) => `Observation/${o.id}`).sort());
  const posted = await fhir('POST', `${B}/Observation/_search`, q, { 'content-type': 'application/x-www-form-urlencoded' });
  t.same(matchIds(posted.body), matchIds(got.body), 'POST _search with a form body answers the same');
  const [urlPart, formPart] = [q.split('&').slice(0, 1).join('&'), q.split('&').slice(1).join('&')];
  const split = await fhir('POST', `${B}/Observation/_search?${urlPart}`, formPart, { 'content-type': 'application/x-www-form-urlencoded' });
  t.same(matchIds(split.body), matchIds(got.body), 'POST _search with parameters in the URL and in the form body: both apply');

  // strict by default, lenient on request
  const strict = await fhir('GET', `${B}/Observation?nonsense=1`);
  t.equal(strict.status, 400);
  t.equal(strict.body.resourceType, 'OperationOutcome');
  t.match(JSON.stringify(strict.body), /nonsense/);
  const lenient = await fhir('GET', `${B}/Observation?nonsense=1&_contained=true&_count=1`, undefined, { prefer: 'handling=lenient' });
  t.equal(lenient.status, 200);
  const outcome = JSON.stringify(lenient.body.entry?.find((e: { search?: { mode?: string } }) => e.search?.mode === 'outcome'));
  t.match(outcome, /nonsense/);
  t.match(outcome, /_contained/);
  t.equal((await fhir('GET', `${B}/Observation?_contained=true`)).status, 400);

  // _total over paging links
  t.equal((await fhir('GET', `${B}/Observation?_total=none&_count=2`)).body.total, undefined);
  const e1 = await fhir('GET', `${B}/Observation?_total=estimate&_count=2`);
  t.equal(e1.body.total, obs.length);
  const next = e1.body.link.find((l: { relation: string }) => l.relation === 'next').url as string;
  const e2 = await fhir('GET', next);
  t.equal(e2.status, 200);
  t.equal(e2.body.total, obs.length, 'estimate: later pages repeat the first count');

  // The whole patient compartment (http.html#search: GET [base]/Patient/[id]/*). Synthea links its
  // resources to the patient by subject or patient, both compartment parameters of their types.
  const patient = (source.entry ?? []).map((e) => e.resource!).find((r) => r.resourceType === 'Patient')!;
  const own = `Patient/${patient.id}`;
  const inCompartment = (source.entry ?? [])
    .map((e) => e.resource as unknown as { resourceType: string; id: string; subject?: { reference?: string }; patient?: { reference?: string } })
    .filter((r) => r.resourceType === 'Patient' ? r.id === patient.id : ids.get(r.subject?.reference ?? '') === own || ids.get(r.patient?.reference ?? '') === own)
    .map((r) => `${r.resourceType}/${r.id}`)
    .sort();
  const outside = (source.entry ?? []).filter((e) => !inCompartment.includes(`${e.resource!.resourceType}/${e.resource!.id}`));
  t.ok(inCompartment.length > 100 && outside.length > 0, `${inCompartment.length} resources in the compartment, ${outside.length} outside it`);
  const all = await fhir('GET', `${B}/${own}/*?_count=1000`);
  t.equal(all.status, 200);
  t.same(matchIds(all.body), inCompartment, 'Patient/[id]/* finds the compartment across its types');
  t.equal(all.body.total, inCompartment.length);
  const two = await fhir('GET', `${B}/${own}/*?_type=Condition,Encounter&_count=1000`);
  t.same(matchIds(two.body), inCompartment.filter((k) => /^(Condition|Encounter)\//.test(k)), '_type narrows it');
  t.equal((await fhir('GET', `${B}/${own}/*?_type=Organization`)).status, 400, 'a type outside the compartment is refused');
  t.equal((await fhir('GET', `${B}/Patient/no-such-patient/*`)).body.total, 0);

  // Whole-system search: _type picks the types and stays in the self link, which names the search
  // as performed (search.html#selflink); following the self link gives the same page.
  const sys = await fhir('GET', `${B}?_type=Patient,Condition&_count=1000`);
  t.equal(sys.status, 200);
  t.same(matchIds(sys.body), inCompartment.filter((k) => /^(Condition|Patient)\//.test(k)));
  const self = sys.body.link.find((l: { relation: string }) => l.relation === 'self').url as string;
  t.match(self, /[?&]_type=Patient%2CCondition(&|$)/, 'the self link keeps _type');
  t.same(matchIds((await fhir('GET', self)).body), matchIds(sys.body), 'and runs the same search');
  const emptyType = await fhir('GET', `${B}?_type=&_count=1`);
  t.equal(emptyType.status, 200, 'an empty _type is an empty parameter: ignored (search.html#errors), every type is searched');
  t.equal(emptyType.body.total, (await fhir('GET', `${B}?_count=1`)).body.total);
  t.notMatch(emptyType.body.link[0].url, /_type/, 'and the self link leaves it out');
  t.equal((await fhir('GET', `${B}?_type=Patient,&_count=1`)).status, 400, 'an empty item in _type is refused');
  t.equal((await fhir('GET', `${B}?_type=Nonsense`)).status, 400);

  // _list
  const list = { resourceType: 'List', id: 'http-list', status: 'current', mode: 'working', entry: [{ item: { reference: `Observation/${obs[0].id}` } }, { item: { reference: `Observation/${obs[1].id}` } }] };
  t.equal((await fhir('PUT', `${B}/List/http-list`, list)).status, 201);
  t.same(matchIds((await fhir('GET', `${B}/Observation?_list=http-list`)).body), [`Observation/${obs[0].id}`, `Observation/${obs[1].id}`].sort());
});

t.test('POST [base]/_search is the system search with a form body (http.html#search)', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
  for (const [i, gender] of ['male', 'female', 'male'].entries()) {
    t.equal((await fhir('PUT', `${B}/Patient/p${i}`, { resourceType: 'Patient', id: `p${i}`, gender, birthDate: `19${50 + i}-01-01` })).status, 201);
  }
  t.equal((await fhir('PUT', `${B}/Observation/o1`, { resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p0' } })).status, 201);
  const entries = (b: Bundle) => (b.entry ?? []).map((e) => `${e.fullUrl} ${e.search?.mode}`).sort();
  for (const q of ['_type=Patient&gender=male', '_type=Patient,Observation&_count=10', '_id=p1,o1', '_type=Patient&_include=*&_id=p0', '']) {
    const got = await fhir('GET', `${B}?${q}`);
    t.equal(got.status, 200, `GET ?${q}`);
    const posted = await fhir('POST', `${B}/_search`, q, FORM);
    t.equal(posted.status, 200, `POST _search ${q}`);
    t.same(entries(posted.body), entries(got.body), `POST _search with '${q}' finds what GET does`);
    t.equal(posted.body.total, got.body.total);
    t.equal(posted.body.link[0].url, got.body.link[0].url, 'and links the search as the GET form');
  }
  const split = await fhir('POST', `${B}/_search?_type=Patient`, 'gender=male', FORM);
  t.same(entries(split.body), entries((await fhir('GET', `${B}?_type=Patient&gender=male`)).body), 'URL and form parameters both apply');
  t.equal(split.body.total, 2);
  t.equal((await fhir('POST', `${B}/_search`, undefined, {})).body.total, 4, 'no body: every resource');
  const json = await fhir('POST', `${B}/_search`, { _type: 'Patient' });
  t.equal(json.status, 415, 'a JSON body is refused');
  t.match(json.body.issue[0].diagnostics, /application\/x-www-form-urlencoded/);
  const bad = await fhir('POST', `${B}/_search`, '_type=Nonsense', FORM);
  t.equal(bad.status, 400, 'a form _type is checked as a URL _type is');
  t.equal(bad.body.resourceType, 'OperationOutcome');

  // A value that is neither prefix nor date is a bad date, not an unknown prefix.
  const garbage = await fhir('GET', `${B}/Patient?birthdate=garbage`);
  t.equal(garbage.status, 400);
  t.equal(garbage.body.resourceType, 'OperationOutcome');
  t.match(garbage.body.issue[0].diagnostics, /^Invalid date 'garbage' in parameter 'birthdate'/);
  t.notMatch(garbage.body.issue[0].diagnostics, /prefix 'ga'/);
});
