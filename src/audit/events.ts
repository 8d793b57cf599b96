import { randomUUID } from 'node:crypto';
import type { AuditEvent, AuditEventAgent, AuditEventEntity } from 'fhir/r4.js';
import type { AuthContext } from '../auth/context.js';
import type { Interaction } from '../auth/interactions.js';

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
 * One AuditEvent per request in the IHE BALP pattern (type rest, subtype = the FHIR interaction,
 * agent = client / user / patient from the token, source = this server, entity = Type/id or the
 * redacted query). Never a body, a name or an identifier value.
 */
export function auditEventFor(a: AuditInput): AuditEvent {
  const i = a.interaction;
  const code = a.code ?? i.code;
  const agents: AuditEventAgent[] = [];
  const client = a.ctx?.clientId ?? a.tokenClient;
  if (client) {
    agents.push({
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP', display: 'information recipient' }] },
      who: { identifier: { system: 'urn:ietf:params:oauth:client-id', value: client } },
      requestor: true,
      network: { address: a.sourceAddress, type: '2' },
    });
  } else {
    agents.push({
      type: { coding: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110153', display: 'Source Role ID' }] },
      who: { display: 'unauthenticated client' },
      requestor: true,
      network: { address: a.sourceAddress, type: '2' },
    });
  }
  if (a.ctx?.fhirUser || (a.ctx?.subject && a.ctx.subject !== a.ctx.clientId)) {
    agents.push({
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/extra-security-role-type', code: 'humanuser', display: 'human user' }] },
      who: a.ctx.fhirUser ? { reference: a.ctx.fhirUser } : { identifier: { system: 'urn:ietf:params:oauth:sub', value: a.ctx.subject } },
      requestor: true,
    });
  }
  agents.push({
    type: { coding: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110152', display: 'Destination Role ID' }] },
    who: { display: a.serverName },
    requestor: false,
    network: { address: a.baseUrl, type: '5' },
  });
  const entity: AuditEventEntity[] = [];
  const resourceEntity = (reference: string): AuditEventEntity => ({
    what: { reference },
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
    role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '4', display: 'Domain Resource' },
  });
  if (i.type && i.id) entity.push(resourceEntity(`${i.type}/${i.id}`));
  const created = a.location && !i.id ? /\/([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64})\/_history\//.exec(a.location)?.[1] : undefined;
  if (created) entity.push(resourceEntity(created));
  const seen = new Set<string>();
  for (const e of a.entries ?? []) {
    if (seen.size >= MAX_ENTRY_ENTITIES) break;
    if (!e.type || !e.id || e.id.startsWith('$')) continue;
    const ref = `${e.type}/${e.id}`;
    if (seen.has(ref)) continue;
    seen.add(ref);
    entity.push({ ...resourceEntity(ref), description: e.code });
  }
  if (code.startsWith('search') || code.startsWith('history') || i.operation) {
    const q = redactQuery(a.query);
    const path = [i.compartment ? `${i.compartment.type}/${i.compartment.id}` : '', i.type && !i.id ? i.type : '', i.operation ? `$${i.operation}` : ''].filter(Boolean).join('/');
    entity.push({
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '24', display: 'Query' },
      query: Buffer.from(`${a.method} ${path}${q ? '?' + q : ''}`).toString('base64'),
    });
  }
  const patient = a.ctx?.patient ?? (i.type === 'Patient' && i.id ? i.id : i.compartment?.type === 'Patient' ? i.compartment.id : undefined);
  if (patient) {
    entity.push({
      what: { reference: `Patient/${patient}` },
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1', display: 'Person' },
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
    });
  }
  const outcome = a.status < 400 ? '0' : a.status < 500 ? '4' : '8';
  const event: AuditEvent = {
    resourceType: 'AuditEvent',
    id: randomUUID(),
    meta: { lastUpdated: new Date().toISOString() },
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'Restful Operation' },
    subtype: [
      code === 'operation' || code === 'token' || code === 'other'
        ? { system: 'urn:ccm-fhir-server:audit-subtype', code: code === 'operation' ? `$${i.operation}` : code }
        : { system: 'http://hl7.org/fhir/restful-interaction', code, display: code },
    ],
    action: i.action,
    recorded: new Date().toISOString(),
    outcome: outcome as AuditEvent['outcome'],
    outcomeDesc: `HTTP ${a.status}`,
    agent: agents,
    source: {
      site: a.baseUrl,
      observer: { display: a.serverName },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
    entity: entity.length ? entity : undefined,
    extension: [{ url: 'urn:ccm-fhir-server:request-id', valueString: a.requestId }],
  };
  return event;
}
