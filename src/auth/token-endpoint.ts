// SMART Backend Services token endpoint: client_credentials grant with a private_key_jwt client
// assertion (https://hl7.org/fhir/smart-app-launch/backend-services.html,
// https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { decodeJwt, jwtVerify, SignJWT } from 'jose';
import type { RegisteredClient } from './clients.js';
import { covers, parseScope, type Grant } from './scopes.js';
import type { SigningKey } from './signing-key.js';
import { CLOCK_SKEW_SECONDS } from './tokens.js';

export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Algorithms SMART requires servers to accept on client assertions. */
export const ASSERTION_ALGS = ['RS384', 'ES384'];
/** Longest client assertion lifetime accepted (SMART: no more than five minutes in the future). */
export const MAX_ASSERTION_SECONDS = 300;

export interface TokenEndpointOptions {
  /** Absolute URL of this endpoint: the `aud` client assertions must carry. */
  tokenUrl: string;
  issuer: string;
  /** `aud` of the access tokens: the FHIR base URL. */
  audience: string;
  clients: Map<string, RegisteredClient>;
  key: SigningKey;
  lifetimeSeconds: number;
}

class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

/** Assertion ids seen, kept until their expiry: a replayed assertion is refused. */
export class ReplayCache {
  private readonly seen = new Map<string, number>();
  /** When the table may next be swept: a sweep per request, once it held 10,000 live ids, made each request cost a pass over it. */
  private nextSweep = 0;
  /** False when the key was seen before; otherwise remembers it until `expSeconds`. */
  add(key: string, expSeconds: number): boolean {
    const now = Date.now() / 1000;
    if (this.seen.size > 10_000 && now >= this.nextSweep) {
      for (const [k, exp] of this.seen) if (exp + CLOCK_SKEW_SECONDS < now) this.seen.delete(k);
      this.nextSweep = now + 10;
    }
    if (this.seen.has(key)) return false;
    this.seen.set(key, expSeconds);
    return true;
  }
}

/**
 * Whether a registered scope allows a requested one: same context, the type or a '*' that covers it
 * (as the API reads scopes: '*' never covers AuditEvent, scopes.ts), fewer or equal permissions, same restriction.
 */
function within(req: Grant, reg: Grant): boolean {
  if (req.context !== reg.context) return false;
  if (!covers(reg, req.type)) return false;
  if ([...req.perms].some((p) => !reg.perms.has(p))) return false;
  if (!reg.params) return true;
  return JSON.stringify(reg.params) === JSON.stringify(req.params ?? null);
}

export function registerTokenEndpoint(app: FastifyInstance, opts: TokenEndpointOptions): void {
  const replay = new ReplayCache();

  async function authenticate(form: URLSearchParams): Promise<RegisteredClient> {
    if (form.get('client_assertion_type') !== ASSERTION_TYPE) throw new OAuthError(400, 'invalid_request', `client_assertion_type must be ${ASSERTION_TYPE}`);
    const assertion = form.get('client_assertion');
    if (!assertion) throw new OAuthError(400, 'invalid_request', 'client_assertion is required');
    let iss: unknown;
    try {
      iss = decodeJwt(assertion).iss;
    } catch {
      throw new OAuthError(401, 'invalid_client', 'client_assertion is not a JWT');
    }
    const client = typeof iss === 'string' ? opts.clients.get(iss) : undefined;
    if (!client) throw new OAuthError(401, 'invalid_client', 'Unknown client');
    let payload;
    try {
      ({ payload } = await jwtVerify(assertion, client.keys, {
        issuer: client.record.client_id,
        subject: client.record.client_id,
        audience: opts.tokenUrl,
        algorithms: ASSERTION_ALGS,
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['exp', 'jti'],
      }));
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      throw new OAuthError(401, 'invalid_client', code === 'ERR_JWT_EXPIRED' ? 'client_assertion has expired' : `client_assertion was not accepted (${code || 'verification failed'})`);
    }
    const now = Math.floor(Date.now() / 1000);
    if (payload.exp! > now + MAX_ASSERTION_SECONDS + CLOCK_SKEW_SECONDS) throw new OAuthError(401, 'invalid_client', 'client_assertion expires more than five minutes from now');
    if (typeof payload.jti !== 'string' || payload.jti.length > 256) throw new OAuthError(401, 'invalid_client', 'client_assertion jti is invalid');
    if (!replay.add(`${client.record.client_id} ${payload.jti}`, payload.exp!)) throw new OAuthError(401, 'invalid_client', 'client_assertion jti was already used');
    return client;
  }

  app.post('/auth/token', { config: { formBody: true } }, async (req, reply) => {
    reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache');
    try {
      if (!(req.body instanceof URLSearchParams)) throw new OAuthError(400, 'invalid_request', 'The token request is an application/x-www-form-urlencoded form');
      const form = req.body;
      if (form.get('grant_type') !== 'client_credentials') throw new OAuthError(400, 'unsupported_grant_type', 'grant_type must be client_credentials');
      const client = await authenticate(form);
      const requested = (form.get('scope') ?? '').split(/\s+/).filter(Boolean);
      const granted = requested.filter((s) => {
        const g = parseScope(s);
        return g !== undefined && (g.context !== 'patient' || client.record.patient) && client.allowed.some((reg) => within(g, reg));
      });
      if (granted.length === 0) throw new OAuthError(400, 'invalid_scope', 'None of the requested scopes is allowed for this client');
      const claims: Record<string, unknown> = { scope: granted.join(' '), client_id: client.record.client_id };
      if (client.record.patient) claims.patient = client.record.patient;
      const accessToken = await new SignJWT(claims)
        .setProtectedHeader({ alg: opts.key.alg, kid: opts.key.kid, typ: 'at+jwt' })
        .setIssuer(opts.issuer)
        .setAudience(opts.audience)
        .setSubject(client.record.client_id)
        .setIssuedAt()
        .setExpirationTime(`${opts.lifetimeSeconds}s`)
        .setJti(randomUUID())
        .sign(opts.key.privateKey);
      (req as { authClientId?: string }).authClientId = client.record.client_id;
      return reply.code(200).header('Content-Type', 'application/json').send({ access_token: accessToken, token_type: 'bearer', expires_in: opts.lifetimeSeconds, scope: granted.join(' ') });
    } catch (e) {
      if (!(e instanceof OAuthError)) throw e;
      return reply.code(e.status).header('Content-Type', 'application/json').send({ error: e.error, error_description: e.message });
    }
  });

  app.get('/auth/jwks.json', async (_req, reply) => reply.header('Cache-Control', 'max-age=300').send({ keys: [opts.key.publicJwk] }));
}
