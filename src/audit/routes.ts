import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditEvent, Bundle } from 'fhir/r4.js';
import type { AuthContext } from '../auth/context.js';
import { badRequest, FhirError, notFound } from '../fhir/errors.js';
import type { Services } from '../rest/services.js';
import type { AuditSink } from './audit-log.js';

export interface AuditRouteOptions {
  /** Auth on: reading the trail needs an explicit AuditEvent scope (system/ or user/, r or s). */
  enabled: boolean;
  maxCount: number;
  ctxOf(req: FastifyRequest): AuthContext | undefined;
}

const DATE = /^(eq|ge|gt|le|lt)?(\d{4}(-\d{2}(-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2})?)?)?)?)$/;

/**
 * GET [base]/AuditEvent (search: date, agent, patient, subtype, outcome, _count) and
 * GET [base]/AuditEvent/[id], served from the audit trail, never from the clinical store.
 */
export function registerAuditRoutes(app: FastifyInstance, s: Services, log: AuditSink, opts: AuditRouteOptions): void {
  const check = (req: FastifyRequest, perm: 'r' | 's') => {
    if (!opts.enabled) return;
    const ctx = opts.ctxOf(req);
    if (!ctx?.grants.some((g) => g.type === 'AuditEvent' && g.context !== 'patient' && g.perms.has(perm) && !g.params)) {
      throw FhirError.of(403, 'forbidden', `Reading the audit trail needs an explicit AuditEvent scope (system/AuditEvent.${perm})`);
    }
  };
  const send = (reply: import('fastify').FastifyReply, body: unknown) => reply.header('Content-Type', 'application/fhir+json; charset=utf-8').send(JSON.stringify(body));

  app.get('/fhir/AuditEvent', async (req, reply) => {
    check(req, 's');
    const q = new URLSearchParams(req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '');
    let count = 50;
    const filters: Array<(e: AuditEvent) => boolean> = [];
    for (const [k, v] of q) {
      switch (k) {
        case '_count':
          if (!/^\d{1,9}$/.test(v) || Number(v) > opts.maxCount) throw badRequest(`_count must be a whole number up to ${opts.maxCount}`, 'value');
          count = Number(v);
          break;
        case 'date': {
          const m = DATE.exec(v);
          if (!m) throw badRequest(`Invalid date '${v.slice(0, 40)}'`, 'value');
          const op = m[1] ?? 'eq';
          const value = m[2];
          filters.push((e) => {
            const r = e.recorded;
            if (op === 'ge') return r >= value;
            if (op === 'gt') return r > value && !r.startsWith(value);
            if (op === 'le') return r <= value || r.startsWith(value);
            if (op === 'lt') return r < value;
            return r.startsWith(value);
          });
          break;
        }
        case 'agent':
          filters.push((e) => (e.agent ?? []).some((a) => a.who?.identifier?.value === v || a.who?.reference === v));
          break;
        case 'patient': {
          const ref = v.includes('/') ? v : `Patient/${v}`;
          filters.push((e) => (e.entity ?? []).some((x) => x.what?.reference === ref));
          break;
        }
        case 'subtype':
          filters.push((e) => (e.subtype ?? []).some((c) => c.code === v || `${c.system}|${c.code}` === v));
          break;
        case 'outcome':
          filters.push((e) => e.outcome === v);
          break;
        case '_format':
        case '_pretty':
          break;
        default:
          throw badRequest(`Unknown AuditEvent search parameter '${k.slice(0, 40)}': use date, agent, patient, subtype, outcome, _count`, 'not-supported');
      }
    }
    const all = await log.scan((e) => filters.every((f) => f(e)));
    all.reverse();
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      total: all.length,
      link: [{ relation: 'self', url: `${s.config.baseUrl}/AuditEvent${q.toString() ? '?' + q.toString() : ''}` }],
      entry: all.slice(0, count).map((e) => ({ fullUrl: `${s.config.baseUrl}/AuditEvent/${e.id}`, resource: e, search: { mode: 'match' } })),
    };
    return send(reply, bundle);
  });

  app.get('/fhir/AuditEvent/:id', async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
    check(req, 'r');
    const id = req.params.id;
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) throw notFound(`AuditEvent/${id.slice(0, 64)} is not known`);
    const [found] = await log.scan((e) => e.id === id);
    if (!found) throw notFound(`AuditEvent/${id} is not known`);
    return send(reply, found);
  });
}
