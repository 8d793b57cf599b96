import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, CapabilityStatement } from 'fhir/r4.js';
import { fhir, sharedData, startServer } from '../helpers/server.js';

/**
 * Patient/[id]/$everything over HTTP on two Synthea patients. A Synthea bundle is one patient's
 * record (the patient, what is in its compartment, the organizations and practitioners those
 * reference), so the expected answer is the source bundle itself, read in plain TypeScript.
 */
const dir = sharedData();
/** Types of a Synthea record outside the Patient compartment: included, never matched. */
const OUTSIDE = new Set(['Organization', 'Practitioner', 'PractitionerRole', 'Location', 'Medication']);
const key = (r: { resourceType: string; id?: string }) => `${r.resourceType}/${r.id}`;

t.test('Patient/[id]/$everything', { skip: !dir && 'shared data absent' }, async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const bdir = join(dir!, 'synthea', 'bundles');
  const [a, b] = readdirSync(bdir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(bdir, f), 'utf8')) as Bundle)
    .sort((x, y) => x.entry!.length - y.entry!.length);
  for (const source of [a, b]) {
    // Synthea ids kept: each entry becomes an update-as-create, its urn:uuid references Type/id.
    const ids = new Map((source.entry ?? []).map((e) => [e.fullUrl!, key(e.resource!)]));
    const tx = JSON.parse(JSON.stringify(source, (k, v) => (k === 'reference' && typeof v === 'string' && ids.has(v) ? ids.get(v) : v))) as Bundle;
    tx.type = 'batch';
    for (const e of tx.entry ?? []) {
      e.request = { method: 'PUT', url: key(e.resource!) };
      delete e.fullUrl;
    }
    const loaded = await fhir('POST', B, tx);
    t.ok(loaded.status === 200 && loaded.body.entry.every((e: { response: { status: string } }) => /^20[01]/.test(e.response.status)), `${source.entry!.length} resources loaded`);
  }
  const record = new Set(a.entry!.map((e) => key(e.resource!)));
  const patientId = a.entry!.find((e) => e.resource!.resourceType === 'Patient')!.resource!.id!;
  const matchesWanted = [...record].filter((k) => !OUTSIDE.has(k.split('/')[0])).sort();

  /** Every page from `url` on, following next links: entries by mode, and each page's total. */
  const allPages = async (url: string, method = 'GET', body?: unknown) => {
    const match: string[] = [];
    const include = new Set<string>();
    const totals = new Set<number>();
    let pages = 0;
    let res = await fhir(method, url, body);
    for (;;) {
      t.equal(res.status, 200, `page ${pages + 1}`);
      const page = res.body as Bundle;
      pages++;
      totals.add(page.total!);
      for (const e of page.entry ?? []) (e.search?.mode === 'match' ? match.push(key(e.resource!)) : include.add(key(e.resource!)));
      const next = page.link?.find((l) => l.relation === 'next')?.url;
      if (!next) break;
      t.match(next, new RegExp(`/Patient/${patientId}/\\$everything\\?`), 'the next link is a $everything call');
      res = await fhir('GET', next);
    }
    return { match: match.sort(), include, totals, pages };
  };

  const all = await allPages(`${B}/Patient/${patientId}/$everything?_count=20`);
  t.ok(all.pages > 1, `${all.pages} pages`);
  t.same(all.match, matchesWanted, 'matches: the patient and everything in its compartment, each once');
  t.same([...all.totals], [matchesWanted.length], 'Bundle.total counts the matches, on every page');
  t.same([...all.include].sort(), [...record].filter((k) => OUTSIDE.has(k.split('/')[0])).sort(), 'included: the organizations and practitioners the record references');

  const conditions = [...record].filter((k) => k.startsWith('Condition/')).sort();
  const typed = await allPages(`${B}/Patient/${patientId}/$everything?_type=Condition`);
  t.same(typed.match, conditions, '_type: only the types named');
  t.equal(typed.include.size, 0, 'nothing included of other types');
  const posted = await allPages(`${B}/Patient/${patientId}/$everything`, 'POST', { resourceType: 'Parameters', parameter: [{ name: '_type', valueCode: 'Condition' }] });
  t.same(posted.match, conditions, 'POST with a Parameters body answers alike');

  t.same((await allPages(`${B}/Patient/${patientId}/$everything?_since=2000-01-01T00:00:00Z&_count=1000`)).match, matchesWanted, '_since before the load: everything');
  const future = await fhir('GET', `${B}/Patient/${patientId}/$everything?_since=2999-01-01T00:00:00Z`);
  t.equal(future.body.total, 0, '_since after the load: nothing');

  const refused = async (url: string, status: number, what: RegExp, method = 'GET', body?: unknown) => {
    const r = await fhir(method, url, body);
    t.equal(r.status, status, url.slice(B.length));
    t.match(r.body?.issue?.[0]?.diagnostics, what);
  };
  await refused(`${B}/Patient/${patientId}/$everything?start=2020-01-01`, 400, /does not support 'start'/);
  await refused(`${B}/Patient/${patientId}/$everything?name=x`, 400, /Unknown parameter 'name'/);
  await refused(`${B}/Patient/${patientId}/$everything?_since=2020-01-01`, 400, /_since must be an instant/);
  await refused(`${B}/Patient/${patientId}/$everything?_type=Nonsense`, 400, /Unknown resource type/);
  await refused(`${B}/Patient/${patientId}/$everything?_cursor=nonsense!`, 400, /cursor/);
  await refused(`${B}/Patient/${patientId}/$everything`, 400, /Unknown parameter 'x'/, 'POST', { resourceType: 'Parameters', parameter: [{ name: 'x', valueString: 'y' }] });
  await refused(`${B}/Patient/no-such-patient/$everything`, 404, /not known/);
  await refused(`${B}/Patient/$everything`, 404, /not defined at type level/);
  const made = await fhir('POST', `${B}/Patient`, { resourceType: 'Patient' });
  t.ok([200, 204].includes((await fhir('DELETE', `${B}/Patient/${made.body.id}`)).status), 'deleted');
  await refused(`${B}/Patient/${made.body.id}/$everything`, 410, /deleted/);

  const cs = (await fhir('GET', `${B}/metadata`)).body as CapabilityStatement;
  const patient = cs.rest![0].resource!.find((r) => r.type === 'Patient')!;
  t.ok(patient.operation?.some((o) => o.name === 'everything' && o.definition === 'http://hl7.org/fhir/OperationDefinition/Patient-everything'), 'listed in the CapabilityStatement');
});
