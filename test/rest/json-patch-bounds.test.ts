import t from 'tap';
import type { Patient } from 'fhir/r4.js';
import type jsonPatch from 'fast-json-patch';
import { applyJsonPatch } from '../../src/rest/json-patch.js';
import { fhir, startServer } from '../helpers/server.js';

const big = (n: number): Patient => ({
  resourceType: 'Patient',
  id: 'p',
  identifier: Array.from({ length: n }, (_, i) => ({ system: 'urn:example:mrn', value: `v${i}` })),
});

t.test('move and copy do not round-trip the whole resource per operation', async (t) => {
  const resource = big(20_000);
  const moves: jsonPatch.Operation[] = Array.from({ length: 1000 }, () => ({ op: 'move', from: '/identifier/0', path: '/identifier/-' }));
  // fast-json-patch's validation cloned the whole document per move (JSON.stringify + JSON.parse):
  // 2,000 moves in a 3.5 MB Patient blocked the event loop 133 s. Counted here, not timed.
  const stringify = JSON.stringify;
  let calls = 0;
  JSON.stringify = ((...args: Parameters<typeof stringify>) => {
    calls++;
    return stringify(...args);
  }) as typeof stringify;
  let moved: Patient;
  try {
    moved = applyJsonPatch(resource, moves, 64) as Patient;
  } finally {
    JSON.stringify = stringify;
  }
  t.equal(moved.identifier![0].value, 'v1000', 'the moves ran');
  t.equal(moved.identifier!.length, 20_000);
  t.ok(calls < 100, `1000 moves serialised something ${calls} times (a clone per move: 1000 or more)`);
  t.throws(() => applyJsonPatch(resource, [{ op: 'move', from: '/identifier/20000', path: '/identifier/-' }], 64), /from path does not exist/);
  t.throws(() => applyJsonPatch(resource, [{ op: 'copy', from: '/nothing/0', path: '/identifier/-' }], 64), /from path does not exist/);
  t.throws(() => applyJsonPatch(resource, [{ op: 'copy', from: '/identifier/x', path: '/identifier/-' }], 64), /from path does not exist/);
  t.equal((applyJsonPatch(resource, [{ op: 'copy', from: '/identifier/0/value', path: '/identifier/1/value' }], 64) as Patient).identifier![1].value, 'v0');
});

t.test('copies that double the resource stop at the copy budget', async (t) => {
  const doubling: jsonPatch.Operation[] = Array.from({ length: 40 }, () => ({ op: 'copy', from: '/name', path: '/name/-' }));
  // Refused once the copies would pass the budget (2^40 names otherwise).
  t.throws(() => applyJsonPatch({ resourceType: 'Patient', id: 'p', name: [{ family: 'x' }] } as Patient, doubling, 64, 1024 * 1024), /would duplicate more than 1048576 bytes/);

  const srv = await startServer();
  t.teardown(() => srv.close());
  const created = await fhir('POST', `${srv.base}/Patient`, { resourceType: 'Patient', name: [{ family: 'x' }] });
  const r = await fhir('PATCH', `${srv.base}/Patient/${created.body.id}`, doubling, { 'content-type': 'application/json-patch+json' });
  t.equal(r.status, 422);
  t.match(r.body.issue[0], { code: 'too-costly', diagnostics: /copy operations would duplicate more than/ });
});
