import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { registerClient } from '../../src/auth/clients.js';
import { defaultAuthConfig } from '../../src/config.js';
import { fhir, startServer, type TestServer } from '../helpers/server.js';

let srv: TestServer;
let clientKey: CryptoKey;
let rsaKey: CryptoKey;
let dir: string;
let tokenUrl: string;

t.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ccm-tok-'));
  const ec = await generateKeyPair('ES384');
  const rsa = await generateKeyPair('RS384');
  clientKey = ec.privateKey;
  rsaKey = rsa.privateKey;
  const clientsFile = join(dir, 'clients.json');
  registerClient(clientsFile, { client_id: 'billing-job', scope: 'system/*.rs system/ChargeItem.cu', jwks: { keys: [{ ...(await exportJWK(ec.publicKey)), kid: 'c1', alg: 'ES384' }] } });
  registerClient(clientsFile, { client_id: 'rsa-job', scope: 'system/Condition.rs', jwks: { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'r1', alg: 'RS384' }] } });
  srv = await startServer({ validate: false, auth: { ...defaultAuthConfig(), clientsFile } });
  tokenUrl = srv.base.replace(/\/fhir$/, '/auth/token');
});
t.teardown(async () => {
  await srv.close();
  rmSync(dir, { recursive: true, force: true });
});

const assertion = (opts: { iss?: string; aud?: string; exp?: number; jti?: string; key?: CryptoKey; alg?: string; kid?: string } = {}) =>
  new SignJWT({})
    .setProtectedHeader({ alg: opts.alg ?? 'ES384', kid: opts.kid ?? 'c1', typ: 'JWT' })
    .setIssuer(opts.iss ?? 'billing-job')
    .setSubject(opts.iss ?? 'billing-job')
    .setAudience(opts.aud ?? tokenUrl)
    .setExpirationTime(opts.exp ?? Math.floor(Date.now() / 1000) + 240)
    .setJti(opts.jti ?? Math.random().toString(36).slice(2))
    .sign(opts.key ?? clientKey);

async function token(form: Record<string, string>) {
  const res = await request(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
  return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as Record<string, string> };
}
const form = (a: string, scope = 'system/*.rs') => ({
  grant_type: 'client_credentials',
  scope,
  client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
  client_assertion: a,
});

t.test('client_credentials with a private_key_jwt assertion issues a working access token', async (t) => {
  const r = await token(form(await assertion(), 'system/*.rs system/Patient.cruds'));
  t.equal(r.status, 200, JSON.stringify(r.body));
  t.equal(r.body.token_type, 'bearer');
  t.equal(r.body.scope, 'system/*.rs', 'scopes beyond the registration are not granted');
  t.equal(r.headers['cache-control'], 'no-store');
  t.ok(Number(r.body.expires_in) <= 300);
  const ok = await fhir('GET', `${srv.base}/Condition`, undefined, { authorization: `Bearer ${r.body.access_token}` });
  t.equal(ok.status, 200, 'the token opens the FHIR API');
  const write = await fhir('POST', `${srv.base}/Patient`, { resourceType: 'Patient' }, { authorization: `Bearer ${r.body.access_token}` });
  t.equal(write.status, 403, 'and only with its scopes');
  t.equal((await fhir('GET', `${srv.base}/Condition`)).status, 401, 'no token: 401');
  const rsa = await token(form(await assertion({ iss: 'rsa-job', key: rsaKey, alg: 'RS384', kid: 'r1' }), 'system/Condition.rs'));
  t.equal(rsa.status, 200, 'RS384 assertions are accepted too');
});

t.test('refused assertions', async (t) => {
  const a = await assertion();
  t.equal((await token(form(a))).status, 200, 'first use');
  const replay = await token(form(a));
  t.equal(replay.status, 401, 'a replayed assertion (same jti) is refused');
  t.equal(replay.body.error, 'invalid_client');
  const long = await token(form(await assertion({ exp: Math.floor(Date.now() / 1000) + 600 })));
  t.equal(long.status, 401, 'an assertion valid for more than five minutes is refused');
  const aud = await token(form(await assertion({ aud: srv.base })));
  t.equal(aud.status, 401, 'an assertion for another audience is refused');
  const expired = await token(form(await assertion({ exp: Math.floor(Date.now() / 1000) - 120 })));
  t.equal(expired.status, 401, 'an expired assertion is refused');
  const other = await generateKeyPair('ES384');
  t.equal((await token(form(await assertion({ key: other.privateKey })))).status, 401, 'a key the client did not register is refused');
  t.equal((await token(form(await assertion({ iss: 'nobody' })))).status, 401, 'an unknown client is refused');
  const es256 = await generateKeyPair('ES256');
  t.equal((await token(form(await assertion({ key: es256.privateKey, alg: 'ES256' })))).status, 401, 'ES256 is not an accepted assertion algorithm');
  const scope = await token(form(await assertion(), 'system/*.cruds'));
  t.equal(scope.status, 400, 'no allowed scope');
  t.equal(scope.body.error, 'invalid_scope');
  const grant = await token({ ...form(await assertion()), grant_type: 'password' });
  t.equal(grant.body.error, 'unsupported_grant_type');
});

t.test('discovery: smart-configuration, CapabilityStatement.rest.security, JWKS; the signing key is generated into DATA_DIR', async (t) => {
  const conf = await fhir('GET', `${srv.base}/.well-known/smart-configuration`);
  t.equal(conf.status, 200);
  t.equal(conf.body.token_endpoint, tokenUrl);
  t.same(conf.body.token_endpoint_auth_methods_supported, ['private_key_jwt']);
  t.ok(conf.body.token_endpoint_auth_signing_alg_values_supported.includes('ES384'));
  t.ok(conf.body.capabilities.includes('client-confidential-asymmetric'));
  t.ok(conf.body.capabilities.includes('permission-v2'));
  t.ok(conf.body.grant_types_supported.includes('client_credentials'));
  const cap = await fhir('GET', `${srv.base}/metadata`);
  t.equal(cap.body.rest[0].security.service[0].coding[0].code, 'SMART-on-FHIR');
  t.equal(cap.body.rest[0].security.extension[0].extension[0].valueUri, tokenUrl);
  const jwks = await fhir('GET', srv.base.replace(/\/fhir$/, '/auth/jwks.json'));
  t.equal(jwks.body.keys.length, 1);
  t.notOk('d' in jwks.body.keys[0], 'only the public key is published');
  const keyFile = join(srv.config.dataDir, 'auth', 'signing-key.json');
  t.ok(existsSync(keyFile), 'signing key generated on first start');
  t.ok('d' in JSON.parse(readFileSync(keyFile, 'utf8')));
});
