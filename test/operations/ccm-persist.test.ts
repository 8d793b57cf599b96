// POST [base]/$ccm-billing persist=true on a store with multi-document transactions and on one
// without (FerretDB with MONGODB_URI, and here a wrapper that allows one write per unit of work,
// as FerretDB does): the ChargeItems converge, a re-run changes nothing, and a run that failed
// half-way is repaired by running it again. The data is loaded one resource per write (a batch of
// PUTs), so this file runs on every store (`npm run test:mongo -- test/operations/ccm-persist.test.ts`).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, BundleEntry, ChargeItem, Resource } from 'fhir/r4.js';
import tap from 'tap';
import { chargeItemId } from '../../src/ccm/index.js';
import { projectRoot } from '../../src/project-root.js';
import { rewriteReferences } from '../../src/rest/references.js';
import type { PutInput, ResourceStore, StoreTx } from '../../src/store/port.js';
import { fhir, startServer, type TestServer } from '../helpers/server.js';

const MONTH = '2025-03';
const example = JSON.parse(readFileSync(join(projectRoot(), 'profiles/examples/ccm-example-transaction.json'), 'utf8')) as Bundle;

/** The example as a batch of PUTs with ids `${tag}-${n}` (no transaction needed), and its Patient id. */
function examplePuts(tag: string): { batch: Bundle; patient: string; encounters: string[]; consents: string[] } {
  const ids = new Map<string, string>();
  example.entry!.forEach((e, i) => ids.set(e.fullUrl!, `${e.resource!.resourceType}/${tag}-${i}`));
  // References resolved as the server resolves a transaction's (on a copy: it rewrites in place).
  const entry: BundleEntry[] = example.entry!.map((e) => {
    const ref = ids.get(e.fullUrl!)!;
    return { resource: { ...(rewriteReferences(structuredClone(e.resource), ids) as Resource), id: ref.split('/')[1] }, request: { method: 'PUT', url: ref } };
  });
  const of = (type: string) => entry.filter((e) => e.resource!.resourceType === type).map((e) => e.resource!.id!);
  return { batch: { resourceType: 'Bundle', type: 'batch', entry }, patient: of('Patient')[0], encounters: of('Encounter'), consents: of('Consent') };
}

/**
 * The store as a server without multi-document transactions sees it: capabilities say so, and a
 * unit of work that writes a second resource fails, as on FerretDB. `failAt` makes the n-th
 * ChargeItem write fail (a crash half-way through).
 */
function withoutTransactions(store: ResourceStore, failAt?: { n: number }): ResourceStore {
  let chargeItems = 0;
  const bind = <T extends object>(target: T, prop: string | symbol) => {
    const v = Reflect.get(target, prop) as unknown;
    return typeof v === 'function' ? v.bind(target) : v;
  };
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'capabilities') return { ...target.capabilities, transactions: false };
      if (prop !== 'transact') return bind(target, prop);
      return <T>(fn: (tx: StoreTx) => Promise<T>) =>
        target.transact((tx) => {
          let writes = 0;
          const one = new Proxy(tx, {
            get(inner, p) {
              if (p !== 'put') return bind(inner, p);
              return (input: PutInput) => {
                if (++writes > 1) throw new Error('a second write in one unit of work: needs a multi-document transaction');
                if (input.type === 'ChargeItem' && ++chargeItems === failAt?.n) throw new Error('injected failure');
                return inner.put(input);
              };
            },
          });
          return fn(one);
        });
    },
  });
}

const persistBody = { resourceType: 'Parameters' as const, parameter: [{ name: 'month', valueString: MONTH }, { name: 'persist', valueBoolean: true }] };
const chargeItems = async (B: string) =>
  ((await fhir('GET', `${B}/ChargeItem?_count=100&_sort=_id`)).body as Bundle).entry?.map((e) => e.resource as ChargeItem) ?? [];
const versions = (items: ChargeItem[]) => Object.fromEntries(items.map((c) => [c.id!, `${c.status} v${c.meta!.versionId}`]));

/** Loads the example once per tag, one resource per write; throws unless every write succeeded. */
async function load(srv: TestServer, tags: string[]) {
  const loaded = [];
  for (const tag of tags) {
    const x = examplePuts(tag);
    const r = await fhir('POST', srv.base, x.batch);
    const statuses = (r.body as Bundle | undefined)?.entry?.map((e) => e.response?.status ?? '') ?? [];
    if (r.status !== 200 || !statuses.every((s) => /^20[01]/.test(s))) throw new Error(`batch ${tag}: ${r.status} ${statuses.join(',')}`);
    loaded.push(x);
  }
  return loaded;
}

tap.test('persist=true on the store as configured (FerretDB: no transactions)', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  t.comment(`store: ${srv.built.services.store.capabilities.backend}`);
  const [a, b] = await load(srv, ['pa', 'pb']);
  const expectedIds = [a, b].flatMap((x) => ['99490', '99439'].map((code) => chargeItemId(`Patient/${x.patient}`, MONTH, code))).sort();

  const first = await fhir('POST', `${B}/$ccm-billing`, persistBody);
  t.equal(first.status, 200, 'several ChargeItems written without a multi-document transaction');
  t.strictSame((await fhir('GET', `${B}/$ccm-billing?month=${MONTH}`)).body, first.body, 'answers like GET');
  const items1 = await chargeItems(B);
  t.strictSame(items1.map((c) => c.id), expectedIds, 'one ChargeItem per line, by deterministic id');
  t.ok(items1.every((c) => c.status === 'billable' && c.meta!.versionId === '1'));

  const again = await fhir('POST', `${B}/$ccm-billing`, persistBody);
  t.strictSame(again.body, first.body);
  t.strictSame(await chargeItems(B), items1, 're-run: nothing rewritten');

  // A time entry of patient b goes away: 99439 is no longer billed and its ChargeItem is retired.
  t.equal((await fhir('DELETE', `${B}/Encounter/${b.encounters[2]}`)).status, 204);
  t.equal((await fhir('POST', `${B}/$ccm-billing`, persistBody)).status, 200);
  const retired = chargeItemId(`Patient/${b.patient}`, MONTH, '99439');
  t.strictSame(
    versions(await chargeItems(B)),
    Object.fromEntries(expectedIds.map((id) => [id, id === retired ? 'not-billable v2' : 'billable v1'])),
    'the code no longer billed is retired, the others untouched',
  );
});

tap.test('persist=true one ChargeItem per unit of work: a run that failed half-way is repaired by the next', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const services = srv.built.services;
  const raw = services.store;
  const [a, b] = await load(srv, ['qa', 'qb']);
  const expectedIds = [a, b].flatMap((x) => ['99490', '99439'].map((code) => chargeItemId(`Patient/${x.patient}`, MONTH, code))).sort();

  services.store = withoutTransactions(raw, { n: 3 });
  const failed = await fhir('POST', `${B}/$ccm-billing`, persistBody);
  t.equal(failed.status, 500, 'the third ChargeItem write fails');
  const partial = await chargeItems(B);
  t.equal(partial.length, 2, 'the two written before the failure stay (each write is whole)');
  t.ok(partial.every((c) => c.status === 'billable' && c.meta!.versionId === '1'));

  services.store = withoutTransactions(raw);
  const repaired = await fhir('POST', `${B}/$ccm-billing`, persistBody);
  t.equal(repaired.status, 200);
  const items = await chargeItems(B);
  t.strictSame(items.map((c) => c.id), expectedIds, 'the re-run writes what was missing');
  t.ok(items.every((c) => c.status === 'billable' && c.meta!.versionId === '1'), 'and rewrites nothing that was there');

  // A ChargeItem deleted by hand (or a write lost) comes back on the next run; the rest stay.
  t.equal((await fhir('DELETE', `${B}/ChargeItem/${expectedIds[0]}`)).status, 204);
  t.equal((await fhir('POST', `${B}/$ccm-billing`, persistBody)).status, 200);
  const after = versions(await chargeItems(B));
  t.equal(after[expectedIds[0]], 'billable v3', 'recreated after its deletion');
  for (const id of expectedIds.slice(1)) t.equal(after[id], 'billable v1', `${id} untouched`);

  // The instance level and listed patients go the same way.
  const listed = await fhir('POST', `${B}/$ccm-billing`, {
    ...persistBody,
    parameter: [...persistBody.parameter, { name: 'patient', valueReference: { reference: `Patient/${a.patient}` } }],
  });
  t.equal(listed.status, 200);
  t.equal((await fhir('POST', `${B}/Patient/${b.patient}/$ccm-billing`, persistBody)).status, 200);
  t.strictSame(versions(await chargeItems(B)), after, 'nothing changed');
  services.store = raw;
});

tap.test('persist=true never rewrites a ChargeItem the billing system marked billed', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const [a] = await load(srv, ['ba']);
  const patient = `Patient/${a.patient}`;
  const ids = ['99490', '99439'].map((code) => chargeItemId(patient, MONTH, code));
  const explanations = (body: unknown) =>
    ((body as { parameter?: Array<{ name: string; part?: Array<{ name: string; valueString?: string }> }> }).parameter ?? [])
      .flatMap((p) => p.part ?? [])
      .filter((p) => p.name === 'explanation')
      .map((p) => p.valueString!);

  t.equal((await fhir('POST', `${B}/$ccm-billing`, persistBody)).status, 200);
  // The billing system submits both claims and marks the ChargeItems billed (version 2).
  for (const id of ids) {
    const item = (await fhir('GET', `${B}/ChargeItem/${id}`)).body as ChargeItem;
    t.equal((await fhir('PUT', `${B}/ChargeItem/${id}`, { ...item, status: 'billed' })).status, 200);
  }
  const billed = versions(await chargeItems(B));
  t.strictSame(billed, Object.fromEntries(ids.map((id) => [id, 'billed v2'])));

  const rerun = await fhir('POST', `${B}/$ccm-billing`, persistBody);
  t.equal(rerun.status, 200);
  t.strictSame(versions(await chargeItems(B)), billed, 'the same answer again: billed ChargeItems stay billed, not rewritten to billable');
  t.notOk(explanations(rerun.body).some((x) => x.includes('already billed')), 'nothing to report while the month agrees with the claims');
  t.equal((await fhir('POST', `${B}/Patient/${a.patient}/$ccm-billing`, persistBody)).status, 200);
  t.strictSame(versions(await chargeItems(B)), billed, 'instance level: the same');

  // A time entry goes away: 99439 is no longer billed, but its claim went out: it stays billed,
  // and the answer (GET as POST) says so.
  t.equal((await fhir('DELETE', `${B}/Encounter/${a.encounters[2]}`)).status, 204);
  const after = await fhir('POST', `${B}/$ccm-billing`, persistBody);
  t.equal(after.status, 200);
  t.strictSame(versions(await chargeItems(B)), billed, 'neither reopened nor retired');
  const notes = explanations(after.body).filter((x) => x.includes('already billed'));
  t.equal(notes.length, 1, 'one sentence for the billed charge the month no longer gives');
  t.match(notes[0], /^99439 of 2025-03 is already billed .*no longer bills 99439/);
  t.strictSame((await fhir('GET', `${B}/$ccm-billing?month=${MONTH}`)).body, after.body, 'GET answers the same');
});

tap.test('persist=true over all patients retires the charges of a patient who has nothing left in the month', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const [a, b] = await load(srv, ['ea', 'eb']);
  const ofA = ['99490', '99439'].map((code) => chargeItemId(`Patient/${a.patient}`, MONTH, code));
  const ofB = ['99490', '99439'].map((code) => chargeItemId(`Patient/${b.patient}`, MONTH, code));
  const listed = (body: unknown) =>
    ((body as { parameter?: Array<{ name: string; part?: Array<{ name: string; valueReference?: { reference?: string } }> }> }).parameter ?? [])
      .filter((p) => p.name === 'patient')
      .map((p) => p.part?.[0].valueReference?.reference);
  t.equal((await fhir('POST', `${B}/$ccm-billing`, persistBody)).status, 200);
  t.strictSame(versions(await chargeItems(B)), Object.fromEntries([...ofA, ...ofB].sort().map((id) => [id, 'billable v1'])));
  // The candidates' query (chargedSources): our ChargeItems of the month, not of its neighbours.
  const q = (month: string) => `${B}/ChargeItem?identifier=${encodeURIComponent('https://ccm-fhir.org/fhir/charge|')}&occurrence=${month}&_summary=count`;
  t.same([(await fhir('GET', q('2025-02'))).body.total, (await fhir('GET', q(MONTH))).body.total, (await fhir('GET', q('2025-04'))).body.total], [0, 4, 0]);

  // Patient a's time entries and consent go away: no care-management time, no consent this month.
  for (const id of a.encounters) t.equal((await fhir('DELETE', `${B}/Encounter/${id}`)).status, 204);
  for (const id of a.consents) t.equal((await fhir('DELETE', `${B}/Consent/${id}`)).status, 204);
  const rerun = await fhir('POST', `${B}/$ccm-billing`, persistBody);
  t.equal(rerun.status, 200);
  t.strictSame(listed(rerun.body), [`Patient/${b.patient}`], 'the answer lists the patients with care management in the month, as GET does');
  t.strictSame(rerun.body, (await fhir('GET', `${B}/$ccm-billing?month=${MONTH}`)).body);
  const after = versions(await chargeItems(B));
  for (const id of ofA) t.equal(after[id], 'not-billable v2', 'retired, as the one-patient path does');
  for (const id of ofB) t.equal(after[id], 'billable v1', 'the other patient untouched');

  t.equal((await fhir('POST', `${B}/$ccm-billing`, persistBody)).status, 200);
  t.strictSame(versions(await chargeItems(B)), after, 'a further run changes nothing');
});
