// Security wiring: bearer-token authentication, SMART scope enforcement, the guarded store,
// token endpoint, .well-known/smart-configuration, CORS, rate limits, request limits and the audit
// trail. buildApp calls setupSecurity once and register() before the FHIR routes.
import { join } from 'node:path';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuditLog, type AuditSink } from '../audit/audit-log.js';
import { MongoAuditLog } from '../audit/mongo-audit-log.js';
import { auditRecordFor } from '../audit/events.js';
import { registerAuditRoutes } from '../audit/routes.js';
import type { Config } from '../config.js';
import { badRequest, FhirError } from '../fhir/errors.js';
import type { Accessed, RestResult } from '../rest/result.js';
import type { SearchService, Services } from '../rest/services.js';
import type { ResourceStore } from '../store/port.js';
import { loadClients } from './clients.js';
import { PatientCompartment } from './patient-compartment.js';
import { requestAuth, type AuthContext, type RequestAuth } from './context.js';
import { guardStore } from './guarded-store.js';
import { classify, splitFhirUrl, type Interaction } from './interactions.js';
import { queryOf } from '../http/request-query.js';
import { entryTarget } from '../rest/entry-url.js';
import { checkedParameters, parameterValue, patientIdOf } from '../operations/parameters-shape.js';
import { Policies } from './policies.js';
import { forbidden, USER_UNRESOLVED, type AccessPolicy } from './policy.js';
import { smartConfiguration } from './smart-configuration.js';
import { authEnabled, authUrls } from './urls.js';
import { loadSigningKey } from './signing-key.js';
import { registerTokenEndpoint } from './token-endpoint.js';
import { jwksFromFile, jwksFromUrl, TokenError, TokenVerifier, type TrustedIssuer } from './tokens.js';
import { jsonDepth } from '../fhir/json-depth.js';
import { timedOut, withDeadline } from '../store/deadline.js';

interface RequestInfo {
  interaction: Interaction;
  /** The request's query, parsed once (limits and the audit event read it). */
  query: URLSearchParams;
  /** A POST _search's form parameters: limits and the audit event read them with the query. */
  form?: URLSearchParams;
  /** transaction or batch, once the body is known. */
  code?: string;
  /** Interactions of the transaction/batch entries. */
  entries?: Interaction[];
  /** The entry index of each of `entries` (entries without a method and url have none). */
  entryIndex?: number[];
  holder?: RequestAuth;
  timer?: NodeJS.Timeout;
}

/** The request's parameters: its query, then a POST _search's form. */
const searchParams = (info: RequestInfo) => (info.form ? new URLSearchParams([...info.query, ...info.form]) : info.query);

export { authEnabled, authUrls };

export interface Security {
  enabled: boolean;
  /** The store the interactions use: guarded when auth is on. */
  store: ResourceStore;
  audit: AuditSink | undefined;
  register(app: FastifyInstance, s: Services): Promise<void>;
  close(): Promise<void>;
}

const NOT_AUDITED = new Set(['/healthz', '/readyz']);
/** Parameter names of _include and _revinclude, with or without a modifier. */
const INCLUDE = /^_(rev)?include(:|$)/;

export async function setupSecurity(config: Config, search: SearchService, resourceTypes: readonly string[], raw: ResourceStore): Promise<Security> {
  const a = config.auth;
  const enabled = authEnabled(config);
  const urls = authUrls(config);
  const issuers: TrustedIssuer[] = [];
  if (enabled && (a.jwksUrl || a.jwksFile)) {
    if (!a.issuer) throw new Error('AUTH_ISSUER is required with AUTH_JWKS_URL / AUTH_JWKS_FILE');
    issuers.push({ issuer: a.issuer, keys: a.jwksFile ? jwksFromFile(a.jwksFile) : jwksFromUrl(a.jwksUrl!) });
  }
  const clients = enabled ? loadClients(a.clientsFile) : new Map();
  const signingKey = enabled && a.clientsFile ? await loadSigningKey(a.signingKeyFile, config.dataDir) : undefined;
  if (signingKey) {
    const { createLocalJWKSet } = await import('jose');
    issuers.push({ issuer: urls.issuer, keys: createLocalJWKSet({ keys: [signingKey.publicJwk] }) });
  }
  const verifier = new TokenVerifier({ audience: config.baseUrl, issuers });
  let audit: AuditSink | undefined;
  if (a.audit && config.mongodbUri) {
    const m = new MongoAuditLog(config.mongodbUri, config.mongodbDb);
    await m.init();
    audit = m;
  } else if (a.audit) {
    audit = new AuditLog(join(config.dataDir, 'audit'));
    await audit.init();
  }
  const policies = new Policies(raw, search, a.userAccess, config.baseUrl);
  const store = enabled ? guardStore(raw, search, resourceTypes, policies) : raw;
  // The audit record names the patients whose compartments hold what a request read or wrote.
  const patientCompartment = new PatientCompartment();
  // From the index values where the store has them (no parse: this runs on every read), else the content.
  const patientsOf = (x: Accessed): string[] => {
    if (x.type === 'Patient') return [x.id];
    if (patientCompartment.paramsFor(x.type).length === 0) return [];
    const idx = x.version?.idx;
    if (idx) return [...patientCompartment.owners(x.type, x.id, idx.ref)];
    const r = x.resource ?? x.version?.resource;
    return r ? [...patientCompartment.owners(x.type, x.id, patientCompartment.paramRefs(r, search.valuesOf))] : [];
  };

  const challenge = (e: TokenError | undefined) => {
    const parts = [`Bearer realm="${config.baseUrl}"`];
    if (e) parts.push(`error="${e.error}"`, `error_description="${e.message.replace(/"/g, "'")}"`);
    return parts.join(', ');
  };
  const unauthorized = (e: TokenError | undefined, message: string) =>
    new FhirError(401, { severity: 'error', code: 'login', diagnostics: message }, { 'WWW-Authenticate': challenge(e) });

  async function authenticate(req: FastifyRequest): Promise<AuthContext> {
    const h = req.headers.authorization;
    if (!h) throw unauthorized(undefined, 'An access token is required (Authorization: Bearer ...)');
    const m = /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(h);
    if (!m) throw unauthorized(new TokenError('invalid_request', 'Malformed Authorization header'), 'The Authorization header must be "Bearer <token>"');
    try {
      return await verifier.verify(m[1]);
    } catch (e) {
      if (e instanceof TokenError) throw unauthorized(e, e.message);
      throw e;
    }
  }

  /** Interaction-level checks: scopes for every interaction the request (or its bundle entries) asks for. */
  /** The interactions of a transaction or batch's entries (and its type into info.code). */
  function bundleEntries(req: FastifyRequest, info: RequestInfo): Interaction[] {
    if (info.interaction.code !== 'transaction') return [];
    const body = req.body as { resourceType?: string; type?: string; entry?: Array<{ request?: { method?: string; url?: string } }> } | undefined;
    if (body?.resourceType !== 'Bundle' || (body.type !== 'transaction' && body.type !== 'batch')) return [];
    info.code = body.type;
    const out: Interaction[] = [];
    info.entryIndex = [];
    (Array.isArray(body.entry) ? body.entry : []).forEach((e, index) => {
      const method = e?.request?.method;
      const url = e?.request?.url;
      // Without a method and url the entry is refused by the bundle processing (400) and never runs.
      if (typeof method !== 'string' || typeof url !== 'string') return;
      let target;
      try {
        // The bundle processing's own reading of the url (src/rest/entry-url.ts): what is checked is what runs.
        target = entryTarget(url, config.baseUrl, `Bundle.entry[${index}]`);
      } catch (e) {
        // Not relative to this server: a 400, for the transaction or this batch entry.
        if (body.type !== 'batch') throw e;
        (req.entryRefusals ??= new Map()).set(index, e as FhirError);
        return;
      }
      out.push(classify(method, target.parts, new URLSearchParams(target.query ?? '')));
      info.entryIndex!.push(index);
    });
    return out;
  }

  /**
   * A refusal of the request's entries: a transaction is refused whole; a batch's entries are
   * independent (http.html#transaction), so each refused one is answered alone, in its
   * response entry, and the rest run.
   */
  function refuseEntries(req: FastifyRequest, info: RequestInfo, refusalOf: (i: Interaction) => FhirError | undefined): void {
    const entries = info.entries ?? [];
    entries.forEach((i, k) => {
      // An entry keeps the first refusal (the AuditEvent write rule's 405 before the scopes' 403).
      if (req.entryRefusals?.has(info.entryIndex![k])) return;
      const refusal = refusalOf(i);
      if (!refusal) return;
      if (info.code !== 'batch') throw refusal;
      (req.entryRefusals ??= new Map()).set(info.entryIndex![k], refusal);
    });
  }

  /** Why the token may not do `i`, or undefined when it may. */
  function refusalOf(req: FastifyRequest, policy: AccessPolicy, ctx: AuthContext, i: Interaction): FhirError | undefined {
    for (const n of i.needs) {
      const ok = n.type === '*' ? ctx.grants.some((g) => g.perms.has(n.perm)) : policy.allows(n.type, n.perm);
      if (!ok && policy.userUnresolved) return forbidden(USER_UNRESOLVED);
      if (!ok && ctx.patientScopesUnused) return forbidden(`The access token's patient/ scopes need a 'patient' claim (the launch context): without one they grant nothing`);
      if (!ok) return forbidden(`The access token's scopes do not allow this ${i.code} (needs '${n.perm}' on ${n.type === '*' ? 'some type' : n.type}, e.g. system/${n.type}.${n.perm})`);
    }
    const targets: string[] = [];
    if (i.type === 'Patient' && i.id && !i.id.startsWith('$')) targets.push(i.id);
    if (i.compartment?.type === 'Patient') targets.push(i.compartment.id);
    // Only the CCM operations take `patient` (a Parameters/$validate body is a resource to validate).
    if (i.operation?.startsWith('ccm-')) targets.push(...operationPatients(req));
    const other = targets.find((t) => !policy.patientTargetAllowed(t));
    if (other !== undefined) return forbidden(ctx.patient ? `The access token is limited to patient ${ctx.patient}` : `Patient/${other} is not among the patients the access token's user cares for`);
    return undefined;
  }

  async function enforce(req: FastifyRequest, info: RequestInfo, ctx: AuthContext): Promise<void> {
    const policy = await policies.for(ctx);
    const top = refusalOf(req, policy, ctx, info.interaction);
    if (top) throw top;
    refuseEntries(req, info, (i) => refusalOf(req, policy, ctx, i));
    const i = info.interaction;
    // A token that may change a type but not read it (SMART v2 u without r) learns nothing of what is
    // stored: a PATCH (whose result holds content the token did not send, unlike a create or an
    // update) answers without a body, and its JSON Patch `test`, which reads what is stored, is refused.
    if (i.code === 'patch' && i.type && !policy.allows(i.type, 'r')) {
      req.writeOnly = true;
      if (Array.isArray(req.body) && req.body.some((op) => op && typeof op === 'object' && (op as { op?: unknown }).op === 'test')) {
        throw forbidden(`A JSON Patch 'test' operation reads ${i.type} content, which the access token may not read (no r on ${i.type})`);
      }
    }
    // A search on a type the token sees only through one query-restricted scope gets that restriction.
    if (i.code === 'search-type' && i.type && !i.compartment) {
      const access = policy.typeAccess(i.type);
      if (access.visible && !access.exact && access.grants.length === 1 && access.grants[0].g.params) {
        const extra = new URLSearchParams(access.grants[0].g.params);
        req.raw.url = req.raw.url + (req.raw.url!.includes('?') ? '&' : '?') + extra.toString();
        // info.query is the request's parsed query (request-query.ts), which the search runs and
        // the audit trail records: both get the restriction.
        for (const [k, v] of extra) info.query.append(k, v);
      }
    }
  }

  function limits(req: FastifyRequest): void {
    const depth = jsonDepth(req.body, a.maxJsonDepth);
    if (depth > a.maxJsonDepth) throw badRequest(`The JSON body is nested deeper than ${a.maxJsonDepth} levels (MAX_JSON_DEPTH)`, 'too-costly');
    const info = req.securityInfo;
    if (!info) return;
    const q = searchParams(info);
    const count = q.get('_count');
    if (count !== null && /^\d+$/.test(count) && Number(count) > a.maxCount) throw badRequest(`_count ${count} is more than this server returns per page (${a.maxCount}, MAX_COUNT)`, 'too-costly');
    let includes = 0;
    for (const k of q.keys()) if (INCLUDE.test(k)) includes++;
    if (includes > a.maxIncludes) throw badRequest(`${includes} _include/_revinclude parameters; this server accepts at most ${a.maxIncludes} (MAX_INCLUDES)`, 'too-costly');
  }

  return {
    enabled,
    store,
    audit,
    async close() {
      await audit?.close();
    },
    async register(app, s) {
      // Declared, so every request object has them from the start (one shape). A WeakMap keyed by
      // the request cost the garbage collector an ephemeron entry per request.
      app.decorateRequest('securityInfo', undefined);
      app.decorateRequest('restResult', undefined);
      if (a.corsOrigins.length) {
        await app.register(cors, {
          origin: a.corsOrigins.includes('*') ? '*' : a.corsOrigins,
          methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
          allowedHeaders: ['Authorization', 'Content-Type', 'Accept', 'If-Match', 'If-None-Match', 'If-None-Exist', 'If-Modified-Since', 'Prefer', 'X-Request-Id', 'X-Security-Context'],
          exposedHeaders: ['Location', 'Content-Location', 'ETag', 'Last-Modified', 'WWW-Authenticate', 'Retry-After', 'X-Request-Id', 'X-Security-Context'],
          maxAge: 600,
        });
      }

      app.addHook('onRequest', (req, reply, done) => {
        // The request's own parsed query (request-query.ts): a restricted scope's parameters appended to it reach the search too.
        const fhir = splitFhirUrl(req.url, '/fhir', queryOf(req));
        const interaction: Interaction = fhir
          ? classify(req.method, fhir.parts, fhir.query)
          : req.url.split('?')[0] === '/auth/token'
            ? { code: 'token', action: 'E', needs: [], public: true }
            : { code: 'other', action: 'E', needs: [], public: true };
        const info: RequestInfo = { interaction, query: fhir?.query ?? new URLSearchParams() };
        req.securityInfo = info;
        // A request that may write is never answered before it finishes: the work goes on after a
        // 503 (it cannot be interrupted), so a 503 would hide a write that was made, and a retry
        // would make it twice. Reads and searches are cut short; their work is only wasted.
        const timed = a.requestTimeoutMs > 0 && (req.method === 'GET' || req.method === 'HEAD' || interaction.code.startsWith('search-'));
        if (timed) {
          // The timer answers a request that waits (on MongoDB, say); work that never yields is cut by the store (deadline.ts).
          info.timer = setTimeout(() => {
            // Answered already, or its answer waits to go out with its turn's (src/http/turn-batch.ts).
            if (reply.sent || reply.batched) return;
            const fe = timedOut(a.requestTimeoutMs);
            reply.code(503).header('Content-Type', 'application/fhir+json; charset=utf-8').header('Connection', 'close').send(JSON.stringify(fe.outcome()));
          }, a.requestTimeoutMs);
          info.timer.unref();
        }
        const proceed = enabled ? () => requestAuth.run((info.holder = {}), done) : done;
        // Other requests (writes) get a deadline without the timer: the store cuts one only before it commits (deadline.ts).
        if (a.requestTimeoutMs > 0) withDeadline(a.requestTimeoutMs, proceed, !timed);
        else proceed();
      });

      if (enabled) {
        // Failed authentications count per IP: past the rate limit they get a 429 instead of a 401.
        const failures = new Map<string, { n: number; reset: number }>();
        // Expired entries are swept when the table is large, at most once per window: a sweep per
        // failure would make every refused request under attack cost a pass over the table.
        let nextSweep = 0;
        app.addHook('onRequest', async (req) => {
          const info = req.securityInfo!;
          if (info.interaction.public || req.method === 'OPTIONS') return;
          const now = Date.now();
          const f = failures.get(req.ip);
          if (a.rateLimitMax > 0 && f && f.reset > now && f.n >= a.rateLimitMax) {
            throw new FhirError(429, { severity: 'error', code: 'throttled', diagnostics: 'Too many failed authentications from this address' }, { 'Retry-After': String(Math.ceil((f.reset - now) / 1000)) });
          }
          try {
            info.holder!.ctx = await authenticate(req);
          } catch (e) {
            if (a.rateLimitMax > 0) {
              if (failures.size > 10_000 && now >= nextSweep) {
                for (const [k, v] of failures) if (v.reset <= now) failures.delete(k);
                nextSweep = now + a.rateLimitWindowMs;
              }
              const cur = f && f.reset > now ? f : { n: 0, reset: now + a.rateLimitWindowMs };
              cur.n++;
              failures.set(req.ip, cur);
            }
            throw e;
          }
        });
      }

      if (a.rateLimitMax > 0) {
        await app.register(rateLimit, {
          global: true,
          max: a.rateLimitMax,
          timeWindow: a.rateLimitWindowMs,
          hook: 'onRequest',
          allowList: (req) => NOT_AUDITED.has(req.url.split('?')[0]),
          keyGenerator: (req) => {
            const ctx = req.securityInfo?.holder?.ctx;
            return ctx ? `client:${ctx.clientId}` : `ip:${req.ip}`;
          },
          errorResponseBuilder: (_req, c) =>
            new FhirError(429, { severity: 'error', code: 'throttled', diagnostics: `Too many requests: at most ${c.max} per ${c.after} (RATE_LIMIT_MAX, RATE_LIMIT_WINDOW_MS)` }, { 'Retry-After': String(Math.ceil(c.ttl / 1000)) }),
        });
      }

      // Callback-style hooks: an async hook costs a promise per request, and most requests need no await.
      app.addHook('preHandler', (req, _reply, done) => {
        let ctx: AuthContext | undefined;
        let info: RequestInfo | undefined;
        try {
          info = req.securityInfo;
          // A search's form is its query too (never the token endpoint's form, which holds credentials).
          if (info && info.interaction.code.startsWith('search-') && req.body instanceof URLSearchParams) info.form = req.body;
          limits(req);
          if (!info) return done();
          info.entries = bundleEntries(req, info);
          // POST [base]/_search: _type in the form names the types as in the URL (the body is parsed only now).
          if (info.interaction.code === 'search-system' && info.form) info.interaction = classify('GET', [], searchParams(info));
          if (audit) {
            const refusal = auditWriteRefusal(info.interaction);
            if (refusal) throw refusal;
            refuseEntries(req, info, auditWriteRefusal);
          }
          ctx = info.holder?.ctx;
        } catch (e) {
          return done(e as Error);
        }
        if (!enabled || !ctx || info.interaction.public) return done();
        enforce(req, info, ctx).then(() => done(), done);
      });

      app.addHook('onResponse', (req, reply, done) => {
        try {
          appendAudit(req, reply);
        } catch (e) {
          return done(e as Error);
        }
        done();
      });
      function appendAudit(req: FastifyRequest, reply: FastifyReply): void {
        const info = req.securityInfo;
        if (info?.timer) clearTimeout(info.timer);
        if (!audit || !info || NOT_AUDITED.has(req.url.split('?')[0]) || req.method === 'OPTIONS') return;
        // What the interaction read or wrote, as its result already holds it: nothing is read again.
        const result = req.restResult;
        const v = result?.version;
        const accessed = v && !v.deleted ? [{ type: v.type, id: v.id, version: v }, ...(result!.accessed ?? [])] : result?.accessed;
        audit.append(
          auditRecordFor({
            interaction: info.interaction,
            code: info.code,
            entries: info.entries,
            location: reply.getHeader('location') as string | undefined,
            status: reply.statusCode,
            ctx: info.holder?.ctx,
            tokenClient: (req as { authClientId?: string }).authClientId,
            query: searchParams(info),
            requestId: req.id,
            sourceAddress: req.ip,
            baseUrl: config.baseUrl,
            serverName: 'ccm-fhir-server',
            method: req.method,
            accessed,
            patientsOf,
            patients: info.interaction.operation?.startsWith('ccm-') ? operationPatientsOrNone(req) : undefined,
          }),
        );
      }

      app.get('/fhir/.well-known/smart-configuration', async (_req, reply) =>
        reply.header('Cache-Control', 'max-age=300').header('Content-Type', 'application/json').send(smartConfiguration(config, enabled && Boolean(signingKey))),
      );
      if (signingKey) {
        registerTokenEndpoint(app, { tokenUrl: urls.tokenUrl, issuer: urls.issuer, audience: config.baseUrl, clients, key: signingKey, lifetimeSeconds: a.tokenLifetime });
      }
      if (audit) {
        registerAuditRoutes(app, s, audit, {
          enabled,
          maxCount: a.maxCount,
          ctxOf: (req) => req.securityInfo?.holder?.ctx,
          userPatients: async (ctx) => (a.userAccess === 'all' ? undefined : ((await policies.for(ctx)).userPatients ?? new Set<string>())),
        });
      }
    },
  };
}

const WRITES = new Set(['create', 'update', 'patch', 'delete']);

/** While the audit trail is on, AuditEvents are the trail's, written by the server alone: no client writes them (directly or in a bundle). */
function auditWriteRefusal(i: Interaction): FhirError | undefined {
  if (i.type !== 'AuditEvent' || !WRITES.has(i.code)) return undefined;
  // The trail is read and searched only: GET (and HEAD) on [base]/AuditEvent and [base]/AuditEvent/[id] (RFC 9110 15.5.6: a 405 carries Allow).
  return new FhirError(
    405,
    { severity: 'error', code: 'not-supported', diagnostics: 'AuditEvent is the audit trail, written by the server only: it cannot be created, changed or deleted' },
    { Allow: 'GET, HEAD' },
  );
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Batch entries the access checks refused, by entry index: each is answered alone (rest/bundle.ts). */
    entryRefusals?: Map<number, FhirError>;
    /** A PATCH by an access token that may not read its type: the answer carries no content. */
    writeOnly?: boolean;
    /** The FHIR interaction's result (http/routes.ts): its audit record names what it read or wrote. */
    restResult?: RestResult;
    /** What the security hooks know of the request (its interaction, token, timer). */
    securityInfo?: RequestInfo;
  }
}

/**
 * Patient ids a CCM operation asks about: `patient` in the query or the Parameters body, each value
 * read as the operation reads it (parameters-shape.ts); a value naming no Patient is kept as it is,
 * so it is not allowed either.
 */
function operationPatients(req: FastifyRequest): string[] {
  const ids: string[] = [];
  const add = (v: string | undefined) => {
    if (v) ids.push(patientIdOf(v) ?? v);
  };
  queryOf(req).getAll('patient').forEach(add);
  const body = req.body as Record<string, unknown> | null | undefined;
  if (typeof body === 'object' && body !== null && !Array.isArray(body) && body.resourceType === 'Parameters') {
    for (const p of checkedParameters(body)) if (p.name === 'patient') add(parameterValue(p));
  }
  return ids;
}

/** operationPatients for the audit record: a body the operation refused names no one. */
function operationPatientsOrNone(req: FastifyRequest): string[] {
  try {
    return operationPatients(req);
  } catch {
    return [];
  }
}
