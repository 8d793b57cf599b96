import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { defaultAuthConfig, type AuthConfig, type Config } from '../../src/config.js';
import { fhir, startServer, type Res, type TestServer } from '../helpers/server.js';

export const ISSUER = 'https://idp.test.example/';

export interface AuthTestServer {
  srv: TestServer;
  base: string;
  /** A signed access token for this server (override iss, aud, exp, alg key...). */
  token(claims: JWTPayload, opts?: { iss?: string; aud?: string; exp?: string | number; key?: CryptoKey; alg?: string; kid?: string }): Promise<string>;
  /** A FHIR request with `Authorization: Bearer <token>`. */
  as(token: string, method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<Res>;
  close(): Promise<void>;
}

/** Starts the server with auth on: an RS256 key pair made here, its public JWKS in a file. */
export async function startAuthServer(auth: Partial<AuthConfig> = {}, config: Partial<Config> = {}): Promise<AuthTestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ccm-auth-'));
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwksFile = join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] }));
  const srv = await startServer({ validate: false, ...config, auth: { ...defaultAuthConfig(), jwksFile, issuer: ISSUER, ...auth } });
  return {
    srv,
    base: srv.base,
    async token(claims, opts = {}) {
      return new SignJWT(claims)
        .setProtectedHeader({ alg: opts.alg ?? 'RS256', kid: opts.kid ?? 'k1' })
        .setIssuer(opts.iss ?? ISSUER)
        .setAudience(opts.aud ?? srv.base)
        .setIssuedAt()
        .setExpirationTime(opts.exp ?? '5m')
        .setJti(Math.random().toString(36).slice(2))
        .sign(opts.key ?? privateKey);
    },
    as(token, method, url, body, headers = {}) {
      return fhir(method, url, body, { authorization: `Bearer ${token}`, ...headers });
    },
    async close() {
      await srv.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const ids = (bundle: { entry?: Array<{ resource?: { resourceType: string; id?: string } }> }) =>
  (bundle.entry ?? []).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`).sort();

export const PL = 'http://terminology.hl7.org/CodeSystem/condition-category';

/** A Condition of `patient` in a condition-category (problem-list-item, encounter-diagnosis). */
export const condition = (id: string, patient: string, category: string, code: string) => ({
  resourceType: 'Condition',
  id,
  subject: { reference: `Patient/${patient}` },
  category: [{ coding: [{ system: PL, code: category }] }],
  code: { coding: [{ system: 'http://snomed.info/sct', code }] },
});

/** PUTs seed resources as `token` (a token that may write them), failing the test setup on any refusal. */
export function seeder(s: AuthTestServer, token: string) {
  return async (r: { resourceType: string; id: string }): Promise<void> => {
    const res = await s.as(token, 'PUT', `${s.base}/${r.resourceType}/${r.id}`, r);
    if (res.status >= 300) throw new Error(`seed ${r.resourceType}/${r.id}: ${res.status} ${res.text}`);
  };
}
