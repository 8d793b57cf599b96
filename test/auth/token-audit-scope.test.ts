// The token endpoint grants an AuditEvent scope only to a client registered with one: a registered
// `*` does not cover AuditEvent (README, Security), as it does not in the API.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { registerClient } from '../../src/auth/clients.js';
import { defaultAuthConfig } from '../../src/config.js';
import { fhir, startServer, type TestServer } from '../helpers/server.js';

let srv: TestServer;
let key: CryptoKey;
let dir: string;

t.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ccm-tok-audit-'));
  const ec = await generateKeyPair('ES384');
  key = ec.privateKey;
  const clientsFile = join(dir, 'clients.json');
  const jwks = { keys: [{ ...(await exportJWK(ec.publicKey)), kid: 'c1', alg: 'ES384' }] };
  // The README's own example registration, and an auditor that names AuditEvent.
  registerClient(clientsFile, { client_id: 'billing-job', scope: 'system/*.rs system/ChargeItem.cu', jwks });
  registerClient(clientsFile, { client_id: 'auditor', scope: 'system/AuditEvent.rs', jwks });
  srv = await startServer({ validate: false, auth: { ...defaultAuthConfig(), clientsFile } });
});
t.teardown(async () => {
  await srv.close();
  rmSync(dir, { recursive: true, force: true });
});

async function tokenFor(client: string, scope: string) {
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES384', kid: 'c1', typ: 'JWT' })
    .setIssuer(client)
    .setSubject(client)
    .setAudience(srv.base.replace(/\/fhir$/, '/auth/token'))
    .setExpirationTime(Math.floor(Date.now() / 1000) + 240)
    .setJti(Math.random().toString(36).slice(2))
    .sign(key);
  const body = new URLSearchParams({ grant_type: 'client_credentials', scope, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion });
  const res = await request(srv.base.replace(/\/fhir$/, '/auth/token'), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString() });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, string> };
}

t.test("a registered '*' scope does not grant AuditEvent", async (t) => {
  const only = await tokenFor('billing-job', 'system/AuditEvent.rs');
  t.equal(only.status, 400);
  t.equal(only.body.error, 'invalid_scope', 'system/AuditEvent.rs alone: invalid_scope');
  const mixed = await tokenFor('billing-job', 'system/AuditEvent.rs system/*.cruds');
  t.equal(mixed.status, 400, 'with a wider * scope beside it: still nothing granted');
  const some = await tokenFor('billing-job', 'system/AuditEvent.rs system/Condition.rs system/AuditEvent.read');
  t.equal(some.status, 200);
  t.equal(some.body.scope, 'system/Condition.rs', 'the AuditEvent scopes are left out, the rest granted');
  const wide = await tokenFor('billing-job', 'system/*.rs');
  t.equal(wide.body.scope, 'system/*.rs', 'the registered * scope itself is granted');
  t.equal((await fhir('GET', `${srv.base}/AuditEvent`, undefined, { authorization: `Bearer ${wide.body.access_token}` })).status, 403, 'and reads no audit trail');
});

t.test('a registration naming AuditEvent is granted it', async (t) => {
  const r = await tokenFor('auditor', 'system/AuditEvent.rs');
  t.equal(r.status, 200);
  t.equal(r.body.scope, 'system/AuditEvent.rs');
  t.equal((await fhir('GET', `${srv.base}/AuditEvent?_count=1`, undefined, { authorization: `Bearer ${r.body.access_token}` })).status, 200, 'the token reads the trail');
  t.equal((await tokenFor('auditor', 'system/*.rs')).status, 400, 'and no more');
});
