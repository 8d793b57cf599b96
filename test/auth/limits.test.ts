import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Resource } from 'fhir/r4.js';
import { request } from 'undici';
import { buildApp } from '../../src/app.js';
import { checkBind } from '../../src/auth/bind-check.js';
import { configFromEnv, defaultAuthConfig, type Config } from '../../src/config.js';
import type { Operation } from '../../src/operations/operation.js';
import { fhir, startServer } from '../helpers/server.js';
import { startAuthServer } from './helpers.js';

const nested = (depth: number): unknown => {
  let v: unknown = 'x';
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};

t.test('JSON depth, _count and _include caps: clear 400s', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const deep = await fhir('POST', `${srv.base}/Basic`, { resourceType: 'Basic', code: { text: 'x' }, extension: [nested(100)] });
  t.equal(deep.status, 400, 'a body nested 100 levels deep');
  t.match(deep.body.issue[0].diagnostics, /MAX_JSON_DEPTH/);
  // What a PATCH makes is held to the same depth: each patch may add levels below the deepest
  // (nested extensions are valid FHIR at any depth).
  const ext = (levels: number): Record<string, unknown> => (levels <= 1 ? { url: 'http://example.org/x', valueString: 'x' } : { url: 'http://example.org/x', extension: [ext(levels - 1)] });
  const under = (levels: number) => '/extension/0' + '/extension/0'.repeat(levels - 1);
  const patch = [{ op: 'add', path: '/extension', value: [ext(12)] }];
  t.equal((await fhir('PUT', `${srv.base}/Basic/deep`, { resourceType: 'Basic', id: 'deep', code: { text: 'x' } })).status, 201);
  const deeper = await fhir('PATCH', `${srv.base}/Basic/deep`, patch, { 'content-type': 'application/json-patch+json' });
  t.equal(deeper.status, 200, 'a patch within the depth');
  const more = [{ op: 'add', path: `${under(11)}/extension`, value: [ext(12)] }];
  t.equal((await fhir('PATCH', `${srv.base}/Basic/deep`, more, { 'content-type': 'application/json-patch+json' })).status, 200, 'and another below it (46 levels)');
  const tooDeep = await fhir('PATCH', `${srv.base}/Basic/deep`, [{ op: 'add', path: `${under(22)}/extension`, value: [ext(12)] }], { 'content-type': 'application/json-patch+json' });
  t.equal(tooDeep.status, 422, 'a patch whose result is nested past MAX_JSON_DEPTH');
  t.match(tooDeep.body.issue[0].diagnostics, /MAX_JSON_DEPTH/);
  const ops = JSON.stringify([{ op: 'add', path: `${under(22)}/extension`, value: [ext(12)] }]);
  const viaBinary = await fhir('POST', srv.base, {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [{ resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(ops).toString('base64') }, request: { method: 'PATCH', url: 'Basic/deep' } }],
  });
  t.equal(viaBinary.status, 422, 'also carried in a transaction as a Binary (whose body is shallow)');
  t.equal((await fhir('GET', `${srv.base}/Basic/deep`)).headers.etag, 'W/"3"', 'neither was written');
  const count = await fhir('GET', `${srv.base}/Patient?_count=5000`);
  t.equal(count.status, 400);
  t.equal(count.body.issue[0].code, 'too-costly');
  t.equal((await fhir('GET', `${srv.base}/Patient?_count=1000`)).status, 200, '_count at the cap');
  const form = await fhir('POST', `${srv.base}/Patient/_search`, '_count=5000', { 'content-type': 'application/x-www-form-urlencoded' });
  t.equal(form.status, 400, 'a POST _search form is held to the same caps');
  t.equal(form.body.issue[0].code, 'too-costly');
  const inc = new URLSearchParams(Array.from({ length: 11 }, () => ['_include', 'Condition:subject'] as [string, string]));
  const many = await fhir('GET', `${srv.base}/Condition?${inc}`);
  t.equal(many.status, 400);
  t.match(many.body.issue[0].diagnostics, /MAX_INCLUDES/);
  t.equal((await fhir('GET', `${srv.base}/Condition?_include=Condition:subject`)).status, 200);
});

t.test('rate limit per client: 429 OperationOutcome with Retry-After', async (t) => {
  const s = await startAuthServer({ rateLimitMax: 3, rateLimitWindowMs: 60_000 });
  t.teardown(() => s.close());
  const a = await s.token({ scope: 'system/*.rs', client_id: 'client-a' });
  const b = await s.token({ scope: 'system/*.rs', client_id: 'client-b' });
  for (let i = 0; i < 3; i++) t.equal((await s.as(a, 'GET', `${s.base}/Patient`)).status, 200);
  const limited = await s.as(a, 'GET', `${s.base}/Patient`);
  t.equal(limited.status, 429);
  t.equal(limited.body.resourceType, 'OperationOutcome');
  t.equal(limited.body.issue[0].code, 'throttled');
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After');
  t.equal((await s.as(b, 'GET', `${s.base}/Patient`)).status, 200, 'another client has its own budget');
  t.equal((await fhir('GET', s.base.replace(/\/fhir$/, '/healthz'))).status, 200, 'health probes are not limited');
  for (let i = 0; i < 3; i++) t.equal((await fhir('GET', `${s.base}/Patient`, undefined, { authorization: 'Bearer bad.token.here' })).status, 401);
  const guessing = await fhir('GET', `${s.base}/Patient`, undefined, { authorization: 'Bearer bad.token.here' });
  t.equal(guessing.status, 429, 'failed authentications are limited per address too');
  t.ok(Number(guessing.headers['retry-after']) > 0);
});

/** A system operation for the timeout tests. */
const testOperation = (name: string, methods: Operation['methods'], run: Operation['run']): Operation => ({ name, definition: `urn:test:${name}`, system: true, types: [], methods, run });
const PARAMETERS = { resourceType: 'Parameters' } as const;
/** Holds the event loop, as a long embedded-store scan does: no timer can fire meanwhile. */
const busyFor = (ms: number) => {
  const until = Date.now() + ms;
  while (Date.now() < until);
};

/** The app with these operations and REQUEST_TIMEOUT_MS = ms, on its own data folder; closed when `t` ends. */
async function appWithTimeout(t: { teardown(fn: () => Promise<void>): void }, ms: number, operations: Operation[]) {
  const dataDir = mkdtempSync(join(tmpdir(), 'ccm-to-'));
  const config: Config = { ...configFromEnv({ LOG_LEVEL: 'silent' }), dataDir, auth: { ...defaultAuthConfig(), requestTimeoutMs: ms } };
  const built = await buildApp(config, { logger: false, operations });
  t.teardown(async () => {
    await built.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const post = (url: string) => built.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/fhir+json' }, payload: JSON.stringify(PARAMETERS) });
  return { built, post };
}

t.test('request timeout: 503 OperationOutcome for reads; a request that may write is answered when it finishes', async (t) => {
  const slow = testOperation('slow', ['GET', 'POST'], () => new Promise((resolve) => setTimeout(() => resolve({ status: 200, body: PARAMETERS }), 400)));
  const { built, post } = await appWithTimeout(t, 100, [slow]);
  const r = await built.app.inject({ method: 'GET', url: '/fhir/$slow' });
  t.equal(r.statusCode, 503);
  t.equal(r.json().issue[0].code, 'timeout');
  await new Promise((r) => setTimeout(r, 400));
  // A POST may write: a 503 would hide a write that then happened (and a retry would repeat it).
  t.equal((await post('/fhir/$slow')).statusCode, 200, 'answered with its outcome, after the timeout');
});

t.test('request timeout: work that never yields the event loop is cut by the store, with the same 503', async (t) => {
  let found = -1;
  // Synchronous work past the deadline, then the store is asked: only the store's own look at the deadline can stop it.
  const stall = testOperation('stall', ['GET', 'POST'], async (s) => {
    busyFor(120);
    found = (await s.store.find({ types: ['Basic'], filter: {} })).length;
    return { status: 200, body: PARAMETERS };
  });
  const { built, post } = await appWithTimeout(t, 50, [stall]);
  const r = await built.app.inject({ method: 'GET', url: '/fhir/$stall' });
  t.equal(r.statusCode, 503);
  t.equal(r.json().issue[0].code, 'timeout');
  t.equal(found, -1, 'the store refused to run the query');
  t.equal((await post('/fhir/$stall')).statusCode, 200, 'a request that may write is not cut outside a store transaction');
  t.equal(found, 0);
});

t.test('request timeout: a write is cut only inside its transaction, before the commit, and then writes nothing', async (t) => {
  const basic = { resourceType: 'Basic', code: { text: 'x' } } as Resource;
  // Looks up criteria in its transaction after the deadline (as a bundle of conditional updates does), then writes.
  const lateLookup = testOperation('late-lookup', ['POST'], async (s) => {
    await s.store.transact(async (tx) => {
      await tx.put({ type: 'Basic', id: 'early', resource: basic, idx: {} });
      busyFor(120);
      await tx.find({ types: ['Basic'], filter: {} });
      await tx.put({ type: 'Basic', id: 'late', resource: basic, idx: {} });
    });
    return { status: 200, body: PARAMETERS };
  });
  // Commits after the deadline, then reads: the commit and what follows it are never cut.
  const lateCommit = testOperation('late-commit', ['POST'], async (s) => {
    await s.store.transact(async (tx) => {
      busyFor(120);
      await tx.put({ type: 'Basic', id: 'committed', resource: basic, idx: {} });
    });
    const n = (await s.store.find({ types: ['Basic'], filter: {} })).length;
    return { status: 200, body: { resourceType: 'Parameters', parameter: [{ name: 'n', valueInteger: n }] } };
  });
  const { built, post } = await appWithTimeout(t, 50, [lateLookup, lateCommit]);
  const cut = await post('/fhir/$late-lookup');
  t.equal(cut.statusCode, 503);
  t.equal(cut.json().issue[0].code, 'timeout');
  t.match(cut.json().issue[0].diagnostics, /nothing was written/);
  t.equal(await built.services.store.read('Basic', 'early'), undefined, 'the write staged before the cut was not committed');
  t.equal(await built.services.store.read('Basic', 'late'), undefined);
  const done = await post('/fhir/$late-commit');
  t.equal(done.statusCode, 200, 'a transaction that commits late is answered with its outcome');
  t.equal(done.json().parameter[0].valueInteger, 1, 'and the read after its commit ran');
  t.ok(await built.services.store.read('Basic', 'committed'));
});

t.test('CORS: off by default, on for the configured origins', async (t) => {
  const off = await startServer();
  t.teardown(() => off.close());
  const r0 = await fhir('GET', `${off.base}/metadata`, undefined, { origin: 'https://app.example' });
  t.notOk(r0.headers['access-control-allow-origin'], 'no CORS headers by default');
  const s = await startAuthServer({ corsOrigins: ['https://app.example'] });
  t.teardown(() => s.close());
  const r1 = await fhir('GET', `${s.base}/metadata`, undefined, { origin: 'https://app.example' });
  t.equal(r1.headers['access-control-allow-origin'], 'https://app.example');
  const pre = await request(`${s.base}/Patient`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
  await pre.body.text();
  t.equal(pre.statusCode, 204, 'preflight needs no token');
  t.match(String(pre.headers['access-control-allow-headers']), /Authorization/);
  t.match(String(pre.headers['access-control-allow-headers']), /X-Security-Context/, 'a browser may send a Binary\'s security context (README, Binary)');
  t.match(String(r1.headers['access-control-expose-headers']), /X-Security-Context/, 'and read it on a raw Binary read');
  const other = await fhir('GET', `${s.base}/metadata`, undefined, { origin: 'https://evil.example' });
  t.notOk(other.headers['access-control-allow-origin'], 'other origins get no CORS headers');
});

t.test('secure default bind', async (t) => {
  const base = configFromEnv({});
  t.match(checkBind({ ...base, host: '127.0.0.1' }), /NO AUTHENTICATION/, 'loopback without auth: loud warning');
  t.throws(() => checkBind({ ...base, host: '0.0.0.0' }), /Refusing to listen/, 'elsewhere without auth: refused');
  t.match(checkBind({ ...base, host: '0.0.0.0', auth: { ...base.auth, disabled: true } }), /DISABLED/, 'AUTH_DISABLED=true: allowed, with a warning');
  t.equal(checkBind({ ...base, host: '0.0.0.0', auth: { ...base.auth, jwksUrl: 'https://idp.example/jwks', issuer: 'https://idp.example/' } }), undefined, 'with auth: no warning');
  t.equal(configFromEnv({}).host, '127.0.0.1', 'the default host is loopback');
  t.throws(() => configFromEnv({ CCM_TIME_ZONE: 'Mars/Olympus_Mons' }), /CCM_TIME_ZONE 'Mars\/Olympus_Mons' is not a known IANA time zone/, 'an unknown practice time zone stops the start');
  t.doesNotThrow(() => configFromEnv({ CCM_TIME_ZONE: 'America/Chicago' }));
});
