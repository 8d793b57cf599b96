import t from 'tap';
import { fhir, startServer } from '../helpers/server.js';

t.test('writes are validated; $validate reports without storing', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const bad = { resourceType: 'Patient', birthDate: '2020-02-30', foo: 1 };
  const refused = await fhir('POST', `${B}/Patient`, bad);
  t.equal(refused.status, 422);
  t.equal(refused.body.resourceType, 'OperationOutcome');
  const exprs = refused.body.issue.flatMap((i: any) => i.expression ?? []);
  t.ok(exprs.some((e: string) => e.startsWith('Patient.birthDate')), 'names the bad date');
  t.ok(exprs.some((e: string) => e.startsWith('Patient.foo')), 'names the unknown element');
  // No narrative is a warning (dom-6) found before the bad code: the error still comes first.
  const badCode = await fhir('POST', `${B}/Patient`, { resourceType: 'Patient', gender: 'unknownish' });
  t.equal(badCode.status, 422);
  t.same(badCode.body.issue.map((i: any) => i.severity), ['error', 'warning'], 'errors before warnings');
  t.same(badCode.body.issue[0].expression, ['Patient.gender']);

  const tx = await fhir('POST', B, { resourceType: 'Bundle', type: 'transaction', entry: [
    { resource: { resourceType: 'Patient', active: true }, request: { method: 'POST', url: 'Patient' } },
    { resource: { resourceType: 'CarePlan', intent: 'plan', subject: { reference: 'Patient/x' } }, request: { method: 'POST', url: 'CarePlan' } },
  ] });
  t.equal(tx.status, 422, 'CarePlan without status is refused');
  t.ok(tx.body.issue.some((i: any) => (i.expression ?? []).some((e: string) => e.startsWith('Bundle.entry[1].resource'))), 'issue points into the entry');

  // A body with more problems than an answer should list: a 422 with the first 1,000 and a count
  // of the rest (125,000 unknown elements overflowed the stack: a 500), errors of array items too.
  const many: Record<string, unknown> = { resourceType: 'Patient' };
  for (let i = 0; i < 130_000; i++) many[`z${i}`] = 1;
  const flood = await fhir('POST', `${B}/Patient`, many);
  t.equal(flood.status, 422, 'refused, not a 500');
  t.equal(flood.body.issue.length, 1001, 'the first 1,000 issues and one more');
  t.match(flood.body.issue[1000], { severity: 'information', code: 'too-costly', diagnostics: /129,?001 more issues|more issues are not listed/ });
  const items = await fhir('POST', `${B}/Patient`, { resourceType: 'Patient', name: Array.from({ length: 20_000 }, () => ({ family: 'x', bogus: 1 })) });
  t.equal(items.status, 422);
  t.equal(items.body.issue.length, 1001);
  t.ok(items.body.issue.slice(0, 1000).every((i: any) => i.severity === 'error' && /^Patient\.name\[\d+\]/.test(i.expression[0])), 'each names its item');

  const v = await fhir('POST', `${B}/Patient/$validate`, bad);
  t.equal(v.body.resourceType, 'OperationOutcome');
  t.ok(v.body.issue.some((i: any) => i.severity === 'error'));
  const ok = await fhir('POST', `${B}/Patient/$validate`, { resourceType: 'Patient', active: true });
  t.notOk(ok.body.issue.some((i: any) => i.severity === 'error'));
  t.equal((await fhir('GET', `${B}/_history`)).body.total, 0, 'nothing was stored');
  const cs = (await fhir('GET', `${B}/metadata`)).body;
  t.ok(cs.rest[0].resource.find((r: any) => r.type === 'Patient').operation.some((o: any) => o.name === 'validate'), '$validate is in the CapabilityStatement');
  const systemOps = (cs.rest[0].operation ?? []).map((o: any) => o.name);
  t.ok(systemOps.includes('ccm-billing'), 'system-level $ccm-billing is listed at system level');
  t.notOk(systemOps.includes('validate'), '$validate is not a system-level operation');
});
