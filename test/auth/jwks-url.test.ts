import { createServer, type Server } from 'node:http';
import t from 'tap';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { defaultAuthConfig } from '../../src/config.js';
import { fhir, startServer } from '../helpers/server.js';

t.test('AUTH_JWKS_URL: keys fetched from the authorization server (ES256 token)', async (t) => {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'es1', alg: 'ES256', use: 'sig' }] };
  let fetched = 0;
  const idp: Server = createServer((_req, res) => {
    fetched++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(idp.address() as { port: number }).port}/jwks`;
  const srv = await startServer({ auth: { ...defaultAuthConfig(), jwksUrl: url, issuer: 'https://idp.example' } });
  t.teardown(async () => {
    await srv.close();
    idp.close();
  });
  const sign = (aud: string) =>
    new SignJWT({ scope: 'system/Patient.rs' }).setProtectedHeader({ alg: 'ES256', kid: 'es1' }).setIssuer('https://idp.example').setAudience(aud).setExpirationTime('2m').sign(privateKey);
  const ok = await fhir('GET', `${srv.base}/Patient`, undefined, { authorization: `Bearer ${await sign(srv.base)}` });
  t.equal(ok.status, 200);
  t.ok(fetched >= 1, 'the JWKS was fetched');
  const wrong = await fhir('GET', `${srv.base}/Patient`, undefined, { authorization: `Bearer ${await sign('https://elsewhere.example/fhir')}` });
  t.equal(wrong.status, 401, 'wrong audience');
  const conf = await fhir('GET', `${srv.base}/.well-known/smart-configuration`);
  t.equal(conf.body.issuer, 'https://idp.example');
  t.equal(conf.body.jwks_uri, url);
});
