import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Bundle } from 'fhir/r4.js';
import type { AuthContext } from '../auth/context.js';
import { FhirError, notFound } from '../fhir/errors.js';
import { formOf } from '../http/body-parsers.js';
import type { Services } from '../rest/services.js';
import type { AuditSink } from './audit-log.js';
import { auditKeys, parseAuditQuery } from './audit-query.js';

export interface AuditRouteOptions {
  /** Auth on: reading the trail needs an explicit AuditEvent scope (system/ or user/, r or s). */
  enabled: boolean;
  maxCount: number;
  ctxOf(req: FastifyRequest): AuthContext | undefined;
  /**
   * The patients a user/ AuditEvent grant reaches (USER_ACCESS=care-team): the user reads only the
   * events about its own patients. undefined = the user is not confined (USER_ACCESS=all).
   */
  userPatients(ctx: AuthContext): Promise<ReadonlySet<string> | undefined>;
}

/**
 * GET [base]/AuditEvent (search: date, agent, patient, entity, subtype, outcome, action, _id, _count;
 * anything else is a 400) and GET [base]/AuditEvent/[id], served from the audit trail, never from
 * the clinical store; its history and vread are a 404 saying the trail keeps no history.
 */
export function registerAuditRoutes(app: FastifyInstance, s: Services, log: AuditSink, opts: AuditRouteOptions): void {
  /** Refuses a token without an audit scope; the Patient references a user/ grant is confined to, or undefined (whole trail). */
  const check = async (req: FastifyRequest, perm: 'r' | 's'): Promise<string[] | undefined> => {
    if (!opts.enabled) return undefined;
    const ctx = opts.ctxOf(req);
    const grants = ctx?.grants.filter((g) => g.type === 'AuditEvent' && g.context !== 'patient' && g.perms.has(perm) && !g.params) ?? [];
    if (!ctx || grants.length === 0) {
      throw FhirError.of(403, 'forbidden', `Reading the audit trail needs an explicit AuditEvent scope (system/AuditEvent.${perm})`);
    }
    if (grants.some((g) => g.context === 'system')) return undefined;
    const patients = await opts.userPatients(ctx);
    return patients && [...patients].map((id) => `Patient/${id}`);
  };
  const send = (reply: import('fastify').FastifyReply, body: unknown) => reply.header('Content-Type', 'application/fhir+json; charset=utf-8').send(JSON.stringify(body));

  const searchRoute = async (req: FastifyRequest, reply: import('fastify').FastifyReply) => {
    const confined = await check(req, 's');
    const q = new URLSearchParams(req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '');
    if (req.method === 'POST') for (const [k, v] of formOf(req)) q.append(k, v);
    const query = parseAuditQuery(q, opts.maxCount);
    if (confined) query.patient.push(confined);
    const page = await log.search(query);
    // The parameters used: an empty one was ignored (parseAuditQuery), so it is not in the self link either.
    const used = new URLSearchParams([...q].filter(([, v]) => v !== ''));
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      total: page.total,
      link: [{ relation: 'self', url: `${s.config.baseUrl}/AuditEvent${used.size ? '?' + used.toString() : ''}` }],
    };
    // json.html: arrays are never empty, so a page without events has no entry.
    if (page.events.length) bundle.entry = page.events.map((e) => ({ fullUrl: `${s.config.baseUrl}/AuditEvent/${e.id}`, resource: e, search: { mode: 'match' } }));
    return send(reply, bundle);
  };
  app.get('/fhir/AuditEvent', searchRoute);
  app.post('/fhir/AuditEvent/_search', { config: { formBody: true } }, searchRoute);

  app.get('/fhir/AuditEvent/:id', async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const confined = await check(req, 'r');
    const id = req.params.id;
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) throw notFound(`AuditEvent/${id.slice(0, 64)} is not known`);
    const found = await log.read(id);
    if (!found || (confined && !auditKeys(found).p.some((p) => confined.includes(p)))) throw notFound(`AuditEvent/${id} is not known`);
    return send(reply, found);
  });

  // The trail keeps one version of each event and no history (versioning no-version, no
  // history or vread in the CapabilityStatement): these say so (http.html#vread: a 404 "with an
  // operation outcome explaining that history is not supported"), where the generic routes took
  // `_history` for an event id or looked for the event in the clinical store.
  const noHistory = async () => {
    throw FhirError.of(
      404,
      'not-supported',
      'AuditEvent history is not supported: the audit trail keeps one version of each event (versioning no-version). Read an event with GET [base]/AuditEvent/[id], or search GET [base]/AuditEvent',
    );
  };
  app.get('/fhir/AuditEvent/_history', noHistory);
  app.get('/fhir/AuditEvent/:id/_history', noHistory);
  app.get('/fhir/AuditEvent/:id/_history/:vid', noHistory);
}
