// A patient with more time entries than one conditional-interaction page (1,000): every one of
// them reaches the engine, on the instance and on the system level.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, BundleEntry, Encounter, Parameters, ParametersParameter } from 'fhir/r4.js';
import t from 'tap';
import { projectRoot } from '../../src/project-root.js';
import { fhir, startServer } from '../helpers/server.js';

const MONTH = '2025-03';
const EXTRA = 1005;
const example = JSON.parse(readFileSync(join(projectRoot(), 'profiles/examples/ccm-example-transaction.json'), 'utf8')) as Bundle;

const minutesOf = (parts: ParametersParameter[] | undefined): Record<string, number> =>
  Object.fromEntries((parts?.find((p) => p.name === 'minutes')?.part ?? []).map((p) => [p.name, p.valueInteger!]));

t.test(`${EXTRA} extra one-minute time entries are all counted`, async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const loaded = await fhir('POST', B, example);
  t.equal(loaded.status, 200);
  const patient = (loaded.body as Bundle).entry![0].response!.location!.split('/').slice(0, 2).join('/');
  const before = minutesOf(((await fhir('GET', `${B}/${patient}/$ccm-billing?month=${MONTH}`)).body as Parameters).parameter);

  const template = example.entry!.find((e) => JSON.stringify((e.resource as Encounter).type ?? '').includes('care-management-time'))!.resource as Encounter;
  const entry: BundleEntry[] = Array.from({ length: EXTRA }, (_, i) => {
    const start = new Date(Date.UTC(2025, 2, 5) + i * 60_000).toISOString();
    const { identifier: _identifier, ...rest } = template;
    const e: Encounter = {
      ...rest,
      identifier: [{ system: 'https://ehr.example.org/ccm-time-entry', value: `many-${i}` }],
      subject: { reference: patient },
      period: { start },
      length: { value: 1, unit: 'min', system: 'http://unitsofmeasure.org', code: 'min' },
      participant: rest.participant!.slice(0, 1).map((p) => ({ ...p, individual: undefined })),
    };
    return { resource: e, request: { method: 'POST', url: 'Encounter' } };
  });
  const added = await fhir('POST', B, { resourceType: 'Bundle', type: 'batch', entry });
  t.equal(added.status, 200);
  t.ok((added.body as Bundle).entry!.every((e) => e.response!.status!.startsWith('201')), 'all written');

  const instance = minutesOf(((await fhir('GET', `${B}/${patient}/$ccm-billing?month=${MONTH}`)).body as Parameters).parameter);
  t.equal(instance.clinicalStaff, before.clinicalStaff + EXTRA, 'instance level: every entry counted');
  const system = (await fhir('GET', `${B}/$ccm-billing?month=${MONTH}`)).body as Parameters;
  const part = system.parameter!.find((p) => p.name === 'patient')!;
  t.strictSame(minutesOf(part.part), instance, 'system level: the same minutes');
});
