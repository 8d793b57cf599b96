import { randomUUID } from 'node:crypto';
import type { AuthContext } from '../auth/context.js';
import type { Interaction } from '../auth/interactions.js';
import type { AuditRecord } from './record.js';

/** Most transaction/batch entries named in one AuditEvent. */
const MAX_ENTRY_ENTITIES = 1000;

/** Query parameters whose values are kept in the audit trail (they shape results, they name nobody). */
const KEPT_VALUES = new Set(['_count', '_sort', '_include', '_revinclude', '_summary', '_elements', '_total', '_type', '_format']);

/** The query with every value redacted except result parameters: an audit record names no one. */
export function redactQuery(query: URLSearchParams): string {
  const out: string[] = [];
  for (const [k, v] of query) out.push(`${encodeURIComponent(k)}=${KEPT_VALUES.has(k.split(':')[0]) ? encodeURIComponent(v) : '*'}`);
  return out.join('&');
}

export interface AuditInput {
  interaction: Interaction;
  /** Subtype override (transaction or batch, from the body). */
  code?: string;
  /** Interactions of a transaction/batch's entries: their Type/id become entities. */
  entries?: Interaction[];
  /** Location header of a create: the new resource's Type/id. */
  location?: string;
  status: number;
  ctx?: AuthContext;
  /** Client id of a token request. */
  tokenClient?: string;
  query: URLSearchParams;
  requestId: string;
  sourceAddress: string;
  baseUrl: string;
  serverName: string;
  method: string;
}


/**
 * The audit record of one request in the IHE BALP pattern (type rest, subtype = the FHIR
 * interaction, agent = client / user / patient from the token, source = this server, entity =
 * Type/id or the redacted query). Never a body, a name or an identifier value.
 */
export function auditRecordFor(a: AuditInput): AuditRecord {
  const i = a.interaction;
  const now = new Date().toISOString();
  const r: AuditRecord = { v: 1, id: randomUUID(), t: now, c: a.code ?? i.code, a: i.action, s: a.status, ip: a.sourceAddress, b: a.baseUrl, n: a.serverName, rq: a.requestId };
  if (i.operation !== undefined) r.op = i.operation;
  const client = a.ctx?.clientId ?? a.tokenClient;
  if (client) r.cl = client;
  if (a.ctx?.fhirUser) r.u = a.ctx.fhirUser;
  else if (a.ctx?.subject && a.ctx.subject !== a.ctx.clientId) r.sub = a.ctx.subject;
  const refs: string[] = [];
  if (i.type && i.id) refs.push(`${i.type}/${i.id}`);
  const created = a.location && !i.id ? /\/([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64})\/_history\//.exec(a.location)?.[1] : undefined;
  if (created) refs.push(created);
  if (refs.length) r.r = refs;
  if (a.entries?.length) {
    const seen = new Set<string>();
    const x: Array<[string, string]> = [];
    for (const e of a.entries) {
      if (seen.size >= MAX_ENTRY_ENTITIES) break;
      if (!e.type || !e.id || e.id.startsWith('$')) continue;
      const ref = `${e.type}/${e.id}`;
      if (seen.has(ref)) continue;
      seen.add(ref);
      x.push([ref, e.code]);
    }
    if (x.length) r.x = x;
  }
  if (r.c.startsWith('search') || r.c.startsWith('history') || i.operation) {
    const q = redactQuery(a.query);
    const path = [i.compartment ? `${i.compartment.type}/${i.compartment.id}` : '', i.type && !i.id ? i.type : '', i.operation ? `$${i.operation}` : ''].filter(Boolean).join('/');
    r.q = `${a.method} ${path}${q ? '?' + q : ''}`;
  }
  const patient = a.ctx?.patient ?? (i.type === 'Patient' && i.id ? i.id : i.compartment?.type === 'Patient' ? i.compartment.id : undefined);
  if (patient) r.p = patient;
  return r;
}
