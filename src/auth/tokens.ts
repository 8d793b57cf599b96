import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { AuthContext } from './context.js';
import { parseScopes } from './scopes.js';

/** Signature algorithms accepted on access tokens: asymmetric only (no `none`, no HMAC). */
export const ACCESS_TOKEN_ALGS = ['RS256', 'RS384', 'ES256', 'ES384'];
/** Clock skew tolerated on exp / nbf / iat, seconds. */
export const CLOCK_SKEW_SECONDS = 30;

/** A 401: the token is missing or not acceptable. `error` follows RFC 6750 section 3.1. */
export class TokenError extends Error {
  constructor(
    readonly error: 'invalid_request' | 'invalid_token',
    message: string,
  ) {
    super(message);
    this.name = 'TokenError';
  }
}

export interface TrustedIssuer {
  issuer: string;
  keys: JWTVerifyGetKey;
}

export interface VerifierOptions {
  /** Expected `aud`: the FHIR base URL. */
  audience: string;
  issuers: TrustedIssuer[];
}

export function jwksFromFile(file: string): JWTVerifyGetKey {
  return createLocalJWKSet(JSON.parse(readFileSync(file, 'utf8')) as JSONWebKeySet);
}

export function jwksFromUrl(url: string): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(url), { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
}

/** Verifies bearer access tokens (signature, iss, aud, exp/nbf, algorithm) and reads the SMART claims. */
export class TokenVerifier {
  constructor(private readonly opts: VerifierOptions) {}

  async verify(token: string): Promise<AuthContext> {
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      throw new TokenError('invalid_token', 'The access token is not a JWT');
    }
    const trusted = this.opts.issuers.find((i) => i.issuer === unverified.iss);
    if (!trusted) throw new TokenError('invalid_token', 'The access token is not from a trusted issuer');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, trusted.keys, {
        issuer: trusted.issuer,
        audience: [this.opts.audience, this.opts.audience + '/'],
        algorithms: ACCESS_TOKEN_ALGS,
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['exp'],
      }));
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      const why =
        code === 'ERR_JWT_EXPIRED'
          ? 'The access token has expired'
          : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED'
            ? `The access token is not valid here (${(e as { claim?: string }).claim ?? 'claim'})`
            : code === 'ERR_JOSE_ALG_NOT_ALLOWED'
              ? 'The access token is signed with an algorithm this server does not accept'
              : 'The access token signature could not be verified';
      throw new TokenError('invalid_token', why);
    }
    const str = (v: unknown) => (typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : undefined);
    const patient = str(payload.patient);
    if (patient !== undefined && !/^[A-Za-z0-9\-.]{1,64}$/.test(patient)) throw new TokenError('invalid_token', 'The patient claim is not a resource id');
    const clientId = str(payload.client_id) ?? str(payload.azp) ?? str(payload.sub) ?? 'unknown';
    const scope = payload.scope ?? payload.scp;
    const ctx: AuthContext = {
      clientId,
      subject: str(payload.sub),
      fhirUser: str(payload.fhirUser),
      patient,
      grants: parseScopes(scope, patient),
      tokenId: str(payload.jti),
    };
    if (patient === undefined && parseScopes(scope, '-').some((g) => g.context === 'patient')) ctx.patientScopesUnused = true;
    return ctx;
  }
}
