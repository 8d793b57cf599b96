import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';

export interface SigningKey {
  alg: 'ES384' | 'RS384' | 'ES256' | 'RS256';
  kid: string;
  privateKey: CryptoKey | Uint8Array;
  /** The public half, published at /auth/jwks.json. */
  publicJwk: JWK;
}

/** The token endpoint's key: read from `file`, or generated into DATA_DIR/auth/signing-key.json on first start. */
export async function loadSigningKey(file: string | undefined, dataDir: string): Promise<SigningKey> {
  const path = file ?? join(dataDir, 'auth', 'signing-key.json');
  let jwk: JWK;
  if (existsSync(path)) {
    jwk = JSON.parse(readFileSync(path, 'utf8')) as JWK;
  } else {
    if (file) throw new Error(`AUTH_SIGNING_KEY_FILE ${file} does not exist`);
    const { privateKey } = await generateKeyPair('ES384', { extractable: true });
    jwk = { ...(await exportJWK(privateKey)), alg: 'ES384', use: 'sig' };
    jwk.kid = await calculateJwkThumbprint(jwk);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, JSON.stringify(jwk), { mode: 0o600, flag: 'wx' });
  }
  const alg = (jwk.alg ?? 'ES384') as SigningKey['alg'];
  if (!['ES384', 'RS384', 'ES256', 'RS256'].includes(alg) || !jwk.d) throw new Error('The signing key must be a private RSA or EC JWK (RS384, ES384, RS256, ES256)');
  const kid = jwk.kid ?? (await calculateJwkThumbprint(jwk));
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return { alg, kid, privateKey: await importJWK(jwk, alg), publicJwk: { ...pub, kid, alg, use: 'sig' } };
}
