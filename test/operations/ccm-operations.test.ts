// The CCM operations over HTTP against the real server, loaded with the example transaction of
// docs/ccm-integration.md (twice: two patients). Every answer is compared with what the pure engine
// gives for the same resources (computed here from the bundle, with the ids the server assigned),
// and the instance answers with the JSON documented in docs/ccm-integration.md.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, CarePlan, ChargeItem, Condition, Consent, Coverage, Encounter, Parameters, Patient, Resource } from 'fhir/r4.js';
import t from 'tap';
import {
  billingParameters,
  billingParts,
  chargeItemId,
  chargeItemsFromBilling,
  chargeItemsToRetire,
  eligibilityParameters,
  eligibilityParts,
  evaluateBilling,
  evaluateEligibility,
  factsFromFhir,
  loadCcmRules,
  patientPart,
  sortWorklist,
  worklistParameters,
  worklistRow,
  type PatientResources,
} from '../../src/ccm/index.js';
import { projectRoot } from '../../src/project-root.js';
import { rewriteReferences } from '../../src/rest/references.js';
import { fhir, startServer } from '../helpers/server.js';

const ROOT = projectRoot();
const MONTH = '2025-03';
const example = JSON.parse(readFileSync(join(ROOT, 'profiles/examples/ccm-example-transaction.json'), 'utf8')) as Bundle;

/** The example's resources with the ids the server assigned and references resolved, as the server stores them. */
function resolved(response: Bundle): Resource[] {
  const map = new Map<string, string>();
  example.entry!.forEach((e, i) => {
    const loc = response.entry![i].response!.location!;
    const [type, id] = loc.split('/');
    map.set(e.fullUrl!, `${type}/${id}`);
  });
  // As the server resolves a transaction's references (on a copy: it rewrites in place).
  return example.entry!.map((e) => {
    const r = rewriteReferences(structuredClone(e.resource), map) as Resource;
    r.id = map.get(e.fullUrl!)!.split('/')[1];
    return r;
  });
}

function patientResources(resources: Resource[], chargeItems: ChargeItem[] = []): PatientResources {
  const of = <T extends Resource>(type: string) => resources.filter((r) => r.resourceType === type) as T[];
  return {
    patient: of<Patient>('Patient')[0],
    coverages: of<Coverage>('Coverage'),
    conditions: of<Condition>('Condition'),
    consents: of<Consent>('Consent'),
    carePlans: of<CarePlan>('CarePlan'),
    encounters: of<Encounter>('Encounter'),
    procedures: [],
    chargeItems,
  };
}

/** The JSON blocks of docs/ccm-integration.md with the readable ids replaced by the server's. */
function documented(resources: Resource[]): { eligibility: Parameters; billing: Parameters; chargeItem: ChargeItem } {
  const md = readFileSync(join(ROOT, 'docs/ccm-integration.md'), 'utf8');
  const blocks = [...md.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]);
  const id = (type: string, n = 0) => resources.filter((r) => r.resourceType === type)[n].id!;
  const encounters = resources.filter((r) => r.resourceType === 'Encounter');
  const conditions = resources.filter((r) => r.resourceType === 'Condition') as Condition[];
  const byCode = (code: string) => conditions.find((c) => c.code!.coding!.some((k) => k.code === code))!.id!;
  const names: Array<[string, string]> = [
    ['Patient/ana', `Patient/${id('Patient')}`],
    ['Practitioner/okafor', `Practitioner/${id('Practitioner')}`],
    ['Condition/hypertension', `Condition/${byCode('I10')}`],
    ['Condition/diabetes', `Condition/${byCode('44054006')}`],
    ...encounters.map((e, i): [string, string] => [`Encounter/enc-${i + 1}`, `Encounter/${e.id}`]),
    ['"ana|', `"${id('Patient')}|`],
  ];
  const fix = (s: string) => names.reduce((acc, [from, to]) => acc.split(from).join(to), s);
  const chargeItem = JSON.parse(fix(blocks[3])) as ChargeItem;
  chargeItem.id = chargeItemId(`Patient/${id('Patient')}`, MONTH, '99490');
  return { eligibility: JSON.parse(fix(blocks[1])), billing: JSON.parse(fix(blocks[2])), chargeItem };
}

type Param = NonNullable<Parameters['parameter']>[number];
/** The parameters (of a Parameters) or parts (of a parameter) with this name. */
const param = (p: Parameters | Param, name: string): Param[] =>
  ((p as Parameters).resourceType === 'Parameters' ? (p as Parameters).parameter : (p as Param).part)?.filter((x) => x.name === name) ?? [];
const stripMeta = (r: Resource) => {
  const { meta: _meta, ...rest } = r;
  return rest;
};

t.test('CCM operations over HTTP', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const opts = { rules: loadCcmRules({ profilesDir: srv.config.profilesDir }), timeZone: 'UTC' };
  const today = new Date().toISOString().slice(0, 10);

  const tx1 = await fhir('POST', B, example);
  t.equal(tx1.status, 200, 'example transaction accepted');
  const tx2 = await fhir('POST', B, example);
  t.equal(tx2.status, 200, 'second copy (a second patient) accepted');
  const res1 = resolved(tx1.body);
  const res2 = resolved(tx2.body);
  const p1 = res1[0].id!;
  const p2 = res2[0].id!;
  const sortedPatients = [
    { id: p1, res: res1 },
    { id: p2, res: res2 },
  ].sort((a, b) => (a.id < b.id ? -1 : 1));

  const expectFor = (res: Resource[], chargeItems: ChargeItem[] = []) => {
    const { facts, sources } = factsFromFhir(patientResources(res, chargeItems), MONTH, opts);
    const eligibility = evaluateEligibility(facts, opts);
    const billing = evaluateBilling(facts, opts);
    return { facts, sources, eligibility, billing };
  };
  const e1 = expectFor(res1);
  const doc = documented(res1);

  t.test('listed in the CapabilityStatement with their OperationDefinition urls, at the levels the definitions declare', async (t) => {
    const cs = (await fhir('GET', `${B}/metadata`)).body;
    const patient = cs.rest[0].resource.find((r: { type: string }) => r.type === 'Patient');
    const listed = (ops: Array<{ name: string; definition: string }> | undefined, name: string, url: string) => (ops ?? []).some((o) => o.name === name && o.definition === url);
    for (const name of ['ccm-eligibility', 'ccm-billing', 'ccm-worklist']) {
      const def = JSON.parse(readFileSync(join(ROOT, `profiles/OperationDefinition-${name}.json`), 'utf8')) as { url: string; system: boolean; type: boolean; instance: boolean };
      t.equal(listed(cs.rest[0].operation, name, def.url), def.system, `${name} -> ${def.url}: system level ${def.system}`);
      t.equal(listed(patient.operation, name, def.url), def.type || def.instance, `${name}: under Patient ${def.type || def.instance}`);
      // The server answers at exactly the declared levels (404 elsewhere; anything else means it runs there).
      const at = async (path: string) => (await fhir('GET', `${B}/${path}?month=${MONTH}`)).status !== 404;
      t.equal(await at(`$${name}`), def.system, `GET [base]/$${name} served: ${def.system}`);
      t.equal(await at(`Patient/$${name}`), def.type, `GET Patient/$${name} served: ${def.type}`);
      t.equal(await at(`Patient/${p1}/$${name}`), def.instance, `GET Patient/{id}/$${name} served: ${def.instance}`);
    }
  });

  t.test('Patient/{id}/$ccm-eligibility', async (t) => {
    const r = await fhir('GET', `${B}/Patient/${p1}/$ccm-eligibility?month=${MONTH}`);
    t.equal(r.status, 200);
    t.strictSame(r.body, eligibilityParameters(e1.eligibility, e1.sources), 'same as the engine');
    t.strictSame(r.body, doc.eligibility, 'same as docs/ccm-integration.md');
    t.equal(param(r.body, 'eligible')[0].valueBoolean, true);
    t.equal(param(r.body, 'program')[0].valueCode, 'CCM');
    t.same(param(r.body, 'condition').map((c) => c.part!.find((p) => p.name === 'category')!.valueCode).sort(), ['diabetes', 'hypertension']);

    const post = await fhir('POST', `${B}/Patient/${p1}/$ccm-eligibility`, { resourceType: 'Parameters', parameter: [{ name: 'month', valueString: MONTH }] });
    t.equal(post.status, 200);
    t.strictSame(post.body, r.body, 'POST with Parameters = GET');

    const current = await fhir('GET', `${B}/Patient/${p1}/$ccm-eligibility`);
    if (opts.rules.codes.coveredYears.includes(Number(today.slice(0, 4)))) {
      t.equal(current.status, 200);
      t.equal(param(current.body, 'month')[0].valueString, today.slice(0, 7), 'month defaults to the current month');
    } else {
      t.equal(current.status, 400, 'the current month is outside the rules data');
    }
  });

  t.test('Patient/{id}/$ccm-billing', async (t) => {
    const r = await fhir('GET', `${B}/Patient/${p1}/$ccm-billing?month=${MONTH}`);
    t.equal(r.status, 200);
    t.strictSame(r.body, billingParameters(e1.billing, e1.sources), 'same as the engine');
    t.strictSame(r.body, doc.billing, 'same as docs/ccm-integration.md');
    const lines = param(r.body, 'line').map((l) => ({
      code: l.part!.find((p) => p.name === 'code')!.valueCoding!.code,
      units: l.part!.find((p) => p.name === 'units')!.valueInteger,
    }));
    t.strictSame(lines, [
      { code: '99490', units: 1 },
      { code: '99439', units: 1 },
    ]);
    t.strictSame(
      param(r.body, 'minutes')[0].part!.map((p) => [p.name, p.valueInteger]),
      [
        ['clinicalStaff', 40],
        ['billingPractitioner', 12],
        ['counted', 52],
      ],
    );
  });

  t.test('Patient/$ccm-eligibility (type level, paged)', async (t) => {
    const expected = sortedPatients.map(({ res }) => {
      const e = expectFor(res);
      return patientPart(e.sources.patient, eligibilityParts(e.eligibility, e.sources));
    });
    const all = await fhir('GET', `${B}/Patient/$ccm-eligibility?month=${MONTH}`);
    t.equal(all.status, 200);
    t.strictSame(all.body, { resourceType: 'Parameters', parameter: [{ name: 'month', valueString: MONTH }, ...expected] });

    const page1 = await fhir('GET', `${B}/Patient/$ccm-eligibility?month=${MONTH}&_count=1`);
    t.equal(page1.status, 200);
    t.strictSame(param(page1.body, 'patient'), [expected[0]]);
    const next = param(page1.body, 'next')[0]?.valueUri;
    t.ok(next, 'a next parameter when there are more');
    const page2 = await fhir('GET', next!);
    t.equal(page2.status, 200);
    t.strictSame(param(page2.body, 'patient'), [expected[1]]);
    t.equal(param(page2.body, 'next').length, 0, 'no next on the last page');
  });

  t.test('[base]/$ccm-billing (system level, paged)', async (t) => {
    const expected = sortedPatients.map(({ res }) => {
      const e = expectFor(res);
      return patientPart(e.sources.patient, billingParts(e.billing, e.sources));
    });
    const all = await fhir('GET', `${B}/$ccm-billing?month=${MONTH}`);
    t.equal(all.status, 200);
    t.strictSame(all.body, { resourceType: 'Parameters', parameter: [{ name: 'month', valueString: MONTH }, ...expected] });

    const page1 = await fhir('GET', `${B}/$ccm-billing?month=${MONTH}&_count=1`);
    t.strictSame(param(page1.body, 'patient'), [expected[0]]);
    const next = param(page1.body, 'next')[0]?.valueUri;
    t.ok(next);
    const page2 = await fhir('GET', next!);
    t.strictSame(param(page2.body, 'patient'), [expected[1]]);
    t.equal(param(page2.body, 'next').length, 0);

    // February 2025: no time entries yet, but the consent of 20 February qualifies.
    const february = sortedPatients.map(({ res }) => {
      const { facts, sources } = factsFromFhir(patientResources(res), '2025-02', opts);
      return patientPart(sources.patient, billingParts(evaluateBilling(facts, opts), sources));
    });
    const feb = await fhir('GET', `${B}/$ccm-billing?month=2025-02`);
    t.equal(feb.status, 200);
    t.strictSame(feb.body, { resourceType: 'Parameters', parameter: [{ name: 'month', valueString: '2025-02' }, ...february] }, 'consent-only patients');
    t.equal(param(february[0], 'line').length, 0, 'no lines without time');

    const none = await fhir('GET', `${B}/$ccm-billing?month=2025-01`);
    t.equal(none.status, 200);
    t.strictSame(none.body.parameter, [{ name: 'month', valueString: '2025-01' }], 'nobody with time or a consent in January 2025');
  });

  t.test('$ccm-worklist', async (t) => {
    const rows = sortWorklist(
      sortedPatients.map(({ res }) => {
        const e = expectFor(res);
        return worklistRow(e.facts, today, { ...opts, patient: e.sources.patient });
      }),
    );
    const r = await fhir('GET', `${B}/$ccm-worklist?month=${MONTH}`);
    t.equal(r.status, 200);
    t.strictSame(r.body, worklistParameters(MONTH, rows), 'same as the engine');
    const row = param(r.body, 'row')[0];
    t.equal(param(row, 'minutesCounted')[0].valueInteger, 52);
    t.equal(param(row, 'daysLeft')[0].valueInteger, 0, 'March 2025 is over');

    const typeLevel = await fhir('GET', `${B}/Patient/$ccm-worklist?month=${MONTH}`);
    t.equal(typeLevel.status, 404, 'not at type level: the OperationDefinition declares system level only');
    t.equal(typeLevel.body.resourceType, 'OperationOutcome');

    const okafor1 = res1.find((x) => x.resourceType === 'Practitioner')!.id!;
    const mine = await fhir('GET', `${B}/$ccm-worklist?month=${MONTH}&practitioner=Practitioner/${okafor1}`);
    t.strictSame(
      param(mine.body, 'row').map((x) => param(x, 'subject')[0].valueReference!.reference),
      [`Patient/${p1}`],
      'practitioner filter',
    );

    const page1 = await fhir('GET', `${B}/$ccm-worklist?month=${MONTH}&_count=1`);
    t.equal(param(page1.body, 'row').length, 1);
    const next = param(page1.body, 'next')[0]?.valueUri;
    t.ok(next);
    const page2 = await fhir('GET', next!);
    t.strictSame([...param(page1.body, 'row'), ...param(page2.body, 'row')], param(r.body, 'row'), 'pages = the whole list');
  });

  t.test('errors: 4xx OperationOutcome, nothing written', async (t) => {
    const future = `${Number(today.slice(0, 4)) + 1}-01`;
    const cases: Array<[string, string, unknown, number]> = [
      ['GET', `Patient/${p1}/$ccm-eligibility?month=2025-13`, undefined, 400],
      ['GET', `Patient/${p1}/$ccm-eligibility?month=March`, undefined, 400],
      ['GET', `Patient/${p1}/$ccm-eligibility?month=${future}`, undefined, 400],
      ['GET', `Patient/${p1}/$ccm-billing?month=${future}`, undefined, 400],
      ['GET', `Patient/${p1}/$ccm-billing?month=2024-06`, undefined, 400],
      ['GET', `Patient/does-not-exist/$ccm-eligibility?month=${MONTH}`, undefined, 404],
      ['GET', `Patient/does-not-exist/$ccm-billing?month=${MONTH}`, undefined, 404],
      ['GET', `$ccm-billing`, undefined, 400],
      ['GET', `$ccm-billing?month=${MONTH}&_count=x`, undefined, 400],
      ['GET', `$ccm-billing?month=${MONTH}&_page=not-a-token`, undefined, 400],
      ['GET', `Patient/$ccm-eligibility?month=${MONTH}&bogus=1`, undefined, 400],
      ['GET', `$ccm-worklist?month=${future}`, undefined, 400],
      ['POST', `$ccm-billing`, { resourceType: 'Parameters', parameter: [{ name: 'month', valueString: future }, { name: 'persist', valueBoolean: true }] }, 400],
      ['POST', `$ccm-billing`, { resourceType: 'Parameters', parameter: [{ name: 'month', valueString: '2025-3' }, { name: 'persist', valueBoolean: true }] }, 400],
      [
        'POST',
        `$ccm-billing`,
        {
          resourceType: 'Parameters',
          parameter: [
            { name: 'month', valueString: MONTH },
            { name: 'patient', valueReference: { reference: `Patient/${p1}` } },
            { name: 'patient', valueReference: { reference: 'Patient/does-not-exist' } },
            { name: 'persist', valueBoolean: true },
          ],
        },
        404,
      ],
      ['POST', `$ccm-billing`, { resourceType: 'Patient' }, 400],
    ];
    for (const [method, url, body, status] of cases) {
      const r = await fhir(method, `${B}/${url}`, body);
      t.equal(r.status, status, `${method} ${url} -> ${status}`);
      t.equal(r.body?.resourceType, 'OperationOutcome', `${method} ${url}: OperationOutcome`);
      t.ok(r.body?.issue?.length, 'with issues');
    }
    const items = await fhir('GET', `${B}/ChargeItem`);
    t.equal(items.body.total, 0, 'no ChargeItem written by a refused call');
  });

  t.test('malformed Parameters bodies: 400 naming the part, nothing written', async (t) => {
    // Each was a TypeError (500), or a value of the wrong JSON type read as if right.
    const P = (parameter: unknown) => ({ resourceType: 'Parameters', parameter });
    const bodies: Array<[string, unknown, string]> = [
      ['parameter not an array', P({ name: 'month' }), 'Parameters.parameter'],
      ['null parameter', P([null]), 'Parameters.parameter[0]'],
      ['null name', P([{ name: null, valueString: MONTH }]), 'Parameters.parameter[0].name'],
      ['numeric name', P([{ name: 5, valueString: MONTH }]), 'Parameters.parameter[0].name'],
      ['no name', P([{ valueString: MONTH }]), 'Parameters.parameter[0].name'],
      ['empty name', P([{ name: '', valueString: MONTH }]), 'Parameters.parameter[0].name'],
      ['bad second parameter', P([{ name: 'month', valueString: MONTH }, { name: 5 }]), 'Parameters.parameter[1].name'],
      ['object valueString', P([{ name: 'month', valueString: { a: 1 } }]), 'Parameters.parameter[0].valueString'],
      ['string valueBoolean', P([{ name: 'month', valueString: MONTH }, { name: 'persist', valueBoolean: 'true' }]), 'Parameters.parameter[1].valueBoolean'],
      ['string valueInteger', P([{ name: '_count', valueInteger: '5' }]), 'Parameters.parameter[0].valueInteger'],
      ['string valueReference', P([{ name: 'patient', valueReference: `Patient/${p1}` }]), 'Parameters.parameter[0].valueReference'],
      ['null reference', P([{ name: 'month', valueString: MONTH }, { name: 'patient', valueReference: { reference: null } }]), 'Parameters.parameter[1].valueReference.reference'],
      ['part not an array', P([{ name: 'month', part: { name: 'x' } }]), 'Parameters.parameter[0].part'],
      ['nameless part', P([{ name: 'month', part: [{ valueString: MONTH }] }]), 'Parameters.parameter[0].part[0].name'],
    ];
    const endpoints = [
      `Patient/${p1}/$ccm-eligibility`,
      'Patient/$ccm-eligibility',
      `Patient/${p1}/$ccm-billing`,
      '$ccm-billing',
      'Patient/$validate',
      `Patient/${p1}/$validate`,
    ];
    const written = async () => (await fhir('GET', `${B}/_history?_summary=count`)).body.total as number;
    const before = await written();
    for (const url of endpoints) {
      for (const [name, body, expression] of bodies) {
        const r = await fhir('POST', `${B}/${url}`, body);
        t.equal(r.status, 400, `${url}, ${name}: 400`);
        t.equal(r.body?.resourceType, 'OperationOutcome', `${url}, ${name}: OperationOutcome`);
        t.ok(
          r.body?.issue?.some((i: { expression?: string[] }) => i.expression?.includes(expression)),
          `${url}, ${name}: names ${expression} (got ${JSON.stringify(r.body?.issue?.map((i: { expression?: string[] }) => i.expression))})`,
        );
      }
    }
    t.equal(await written(), before, 'nothing written');
  });

  t.test('POST [base]/$ccm-billing persist=true: idempotent ChargeItems', async (t) => {
    const body = { resourceType: 'Parameters', parameter: [{ name: 'month', valueString: MONTH }, { name: 'persist', valueBoolean: true }] };
    const first = await fhir('POST', `${B}/$ccm-billing`, body);
    t.equal(first.status, 200);
    const get = await fhir('GET', `${B}/$ccm-billing?month=${MONTH}`);
    t.strictSame(first.body, get.body, 'answers like GET');

    const expectedItems = sortedPatients
      .flatMap(({ res }) => {
        const e = expectFor(res);
        return chargeItemsFromBilling(e.billing, e.facts, e.sources);
      })
      .sort((a, b) => (a.id! < b.id! ? -1 : 1));
    t.equal(expectedItems.length, 4, 'two lines per patient');

    const stored = async () =>
      ((await fhir('GET', `${B}/ChargeItem?_count=100&_sort=_id`)).body as Bundle).entry!.map((e) => e.resource as ChargeItem);
    const items1 = await stored();
    t.strictSame(items1.map(stripMeta), expectedItems, 'the engine\'s ChargeItems, by their deterministic ids');
    t.strictSame(items1.map((c) => c.meta!.versionId), ['1', '1', '1', '1']);
    const documentedItem = items1.find((c) => c.id === doc.chargeItem.id);
    t.ok(documentedItem, 'the documented ChargeItem id');
    t.strictSame(stripMeta(documentedItem!), doc.chargeItem, 'same as docs/ccm-integration.md');

    const second = await fhir('POST', `${B}/$ccm-billing`, body);
    t.equal(second.status, 200);
    t.strictSame(second.body, first.body, 'the same answer: own ChargeItems are not "other services"');
    const items2 = await stored();
    t.strictSame(items2, items1, 'no duplicates, versions and lastUpdated unchanged');

    const instance = await fhir('POST', `${B}/Patient/${p1}/$ccm-billing`, body);
    t.equal(instance.status, 200);
    t.strictSame(instance.body, billingParameters(e1.billing, e1.sources));
    t.strictSame(await stored(), items1, 'instance-level persist: still unchanged');

    // A time entry of patient 2 goes away: 37 minutes bill 99490 only, its 99439 item is retired.
    const enc3 = res2.filter((r) => r.resourceType === 'Encounter')[2].id!;
    t.equal((await fhir('DELETE', `${B}/Encounter/${enc3}`)).status, 204);
    const res2After = res2.filter((r) => r.id !== enc3);
    const e2 = expectFor(res2After, items1.filter((c) => c.subject!.reference === `Patient/${p2}`));
    const fresh = chargeItemsFromBilling(e2.billing, e2.facts, e2.sources);
    t.strictSame(fresh.map((c) => c.code!.coding![0].code), ['99490']);
    const retired = chargeItemsToRetire(items1.filter((c) => c.subject!.reference === `Patient/${p2}`), fresh, `Patient/${p2}`, MONTH);
    t.equal(retired.length, 1);

    const third = await fhir('POST', `${B}/$ccm-billing`, {
      resourceType: 'Parameters',
      parameter: [{ name: 'month', valueString: MONTH }, { name: 'patient', valueReference: { reference: `Patient/${p2}` } }, { name: 'persist', valueBoolean: true }],
    });
    t.equal(third.status, 200);
    t.strictSame(param(third.body, 'patient'), [patientPart(`Patient/${p2}`, billingParts(e2.billing, e2.sources))]);
    const items3 = await stored();
    t.equal(items3.length, 4, 'nothing deleted, nothing duplicated');
    const byId = new Map(items3.map((c) => [c.id!, c]));
    const gone = byId.get(retired[0].id!)!;
    t.equal(gone.status, 'not-billable', 'the code no longer billed is retired');
    t.equal(gone.meta!.versionId, '2');
    t.strictSame(stripMeta(gone), stripMeta(retired[0]));
    for (const c of items1.filter((x) => x.id !== retired[0].id)) {
      t.equal(byId.get(c.id!)!.meta!.versionId, '1', `${c.id} unchanged`);
    }
  });
});
