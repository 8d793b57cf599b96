import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair, calculateJwkThumbprint, type JSONWebKeySet } from 'jose';
import { registerClient, type ClientRecord } from '../src/auth/clients.js';

/**
 * Registers a SMART Backend Services client for POST /auth/token (README "Security"):
 *
 *   node dist/scripts/register-client.js --clients clients.json --id billing-job \
 *     --scope "system/*.rs system/ChargeItem.cu" (--jwks client.jwks.json | --jwks-uri URL | --generate client-key.json)
 *
 * --generate makes an ES384 key pair, writes the private JWK for the client to the given file
 * (owner-only) and registers the public half. Restart the server to load the change.
 */
const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: process.env.AUTH_CLIENTS_FILE },
    id: { type: 'string' },
    scope: { type: 'string' },
    jwks: { type: 'string' },
    'jwks-uri': { type: 'string' },
    generate: { type: 'string' },
    patient: { type: 'string' },
    name: { type: 'string' },
  },
});
if (!values.clients || !values.id || !values.scope || [values.jwks, values['jwks-uri'], values.generate].filter(Boolean).length !== 1) {
  console.error('usage: register-client --clients FILE --id CLIENT_ID --scope "system/*.rs" (--jwks FILE | --jwks-uri URL | --generate PRIVATE_KEY_OUT) [--patient ID] [--name TEXT]');
  process.exit(2);
}
const record: ClientRecord = { client_id: values.id, scope: values.scope };
if (values.name) record.name = values.name;
if (values.patient) record.patient = values.patient;
if (values.jwks) record.jwks = JSON.parse(readFileSync(values.jwks, 'utf8')) as JSONWebKeySet;
if (values['jwks-uri']) record.jwks_uri = values['jwks-uri'];
if (values.generate) {
  const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
  const pub = { ...(await exportJWK(publicKey)), alg: 'ES384', use: 'sig' };
  const kid = await calculateJwkThumbprint(pub);
  writeFileSync(values.generate, JSON.stringify({ ...(await exportJWK(privateKey)), alg: 'ES384', kid }) + '\n', { mode: 0o600, flag: 'wx' });
  record.jwks = { keys: [{ ...pub, kid }] };
}
registerClient(values.clients, record);
console.log(JSON.stringify({ registered: record.client_id, clients: values.clients, scope: record.scope }));
