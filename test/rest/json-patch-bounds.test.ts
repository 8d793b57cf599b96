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
  // The cost of one JSON round trip of the resource, the unit the library's validation paid per move.
  const one = () => JSON.parse(JSON.stringify(resource));
  let start = performance.now();
  for (let i = 0; i < 5; i++) one();
  const roundTrip = (performance.now() - start) / 5;
  const moves: jsonPatch.Operation[] = Array.from({ length: 1000 }, () => ({ op: 'move', from: '/identifier/0', path: '/identifier/-' }));
  start = performance.now();
  const moved = applyJsonPatch(resource, moves, 64);
  const took = performance.now() - start;
  t.equal(moved.identifier![0].value, 'v1000', 'the moves ran');
  t.equal(moved.identifier!.length, 20_000);
  // With a clone per move: about 1000 round trips. Without: a few (marking the numbers' texts, a splice per move).
  t.ok(took < 100 * roundTrip, `1000 moves took ${took.toFixed(0)} ms, one round trip ${roundTrip.toFixed(1)} ms`);
  t.throws(() => applyJsonPatch(resource, [{ op: 'move', from: '/identifier/20000', path: '/identifier/-' }], 64), /from path does not exist/);
  t.throws(() => applyJsonPatch(resource, [{ op: 'copy', from: '/nothing/0', path: '/identifier/-' }], 64), /from path does not exist/);
  t.throws(() => applyJsonPatch(resource, [{ op: 'copy', from: '/identifier/x', path: '/identifier/-' }], 64), /from path does not exist/);
  t.equal(applyJsonPatch(resource, [{ op: 'copy', from: '/identifier/0/value', path: '/identifier/1/value' }], 64).identifier![1].value, 'v0');
});

t.test('copies that double the resource stop at the copy budget', async (t) => {
  const doubling: jsonPatch.Operation[] = Array.from({ length: 40 }, () => ({ op: 'copy', from: '/name', path: '/name/-' }));
  const start = performance.now();
  t.throws(() => applyJsonPatch({ resourceType: 'Patient', id: 'p', name: [{ family: 'x' }] }, doubling, 64, 1024 * 1024), /would duplicate more than 1048576 bytes/);
  t.ok(performance.now() - start < 5000, 'refused before 2^40 copies are made');

  const srv = await startServer();
  t.teardown(() => srv.close());
  const created = await fhir('POST', `${srv.base}/Patient`, { resourceType: 'Patient', name: [{ family: 'x' }] });
  const r = await fhir('PATCH', `${srv.base}/Patient/${created.body.id}`, doubling, { 'content-type': 'application/json-patch+json' });
  t.equal(r.status, 422);
  t.match(r.body.issue[0], { code: 'too-costly', diagnostics: /copy operations would duplicate more than/ });
});
