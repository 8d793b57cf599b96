import type { AuditEvent, AuditEventAgent, AuditEventEntity } from 'fhir/r4.js';
import { auditKeys, type AuditKeys } from './audit-query.js';

/**
 * The facts of one request's AuditEvent, without the codings every event repeats. The file trail
 * stores this (a few hundred bytes instead of about two kilobytes) and builds the AuditEvent when
 * it is read: every request writes one, so its size is disk traffic and CPU on every request.
 * expandAudit turns it into the AuditEvent; recordKeys gives the same keys auditKeys would.
 */
export interface AuditRecord {
  /** Format of the record (a stored AuditEvent has resourceType instead). */
  v: 1;
  id: string;
  /** recorded (and meta.lastUpdated), ISO instant */
  t: string;
  /** Subtype: a restful-interaction code, or operation / token / other */
  c: string;
  /** Operation name without '$' */
  op?: string;
  /** AuditEvent.action */
  a: 'C' | 'R' | 'U' | 'D' | 'E';
  /** HTTP status */
  s: number;
  /** OAuth client id of the requestor (absent: unauthenticated) */
  cl?: string;
  /** The human user: a fhirUser reference ... */
  u?: string;
  /** ... or, without one, the token's subject */
  sub?: string;
  /** Source network address */
  ip: string;
  /** This server's base URL and name */
  b: string;
  n: string;
  /** Resources acted on (Type/id) */
  r?: string[];
  /** Transaction/batch entries: Type/id and the entry's interaction */
  x?: Array<[string, string]>;
  /** The redacted query ("METHOD path?query"), when the interaction is a search, history or operation */
  q?: string;
  /** Patient(s) the request is about (ids; one is a string, as earlier versions wrote it) */
  p?: string | string[];
  /** Request id */
  rq: string;
}

/** What the audit sinks accept: records from this server, whole AuditEvents from earlier versions and tests. */
export type AuditEntry = AuditRecord | AuditEvent;

export const isAuditRecord = (e: AuditEntry): e is AuditRecord => (e as AuditRecord).v === 1;

const RESTFUL = 'http://hl7.org/fhir/restful-interaction';
const OWN_SUBTYPES = 'urn:ccm-fhir-server:audit-subtype';

/** The subtype coding's system and code. */
function subtype(r: AuditRecord): { system: string; code: string } {
  if (r.c === 'operation') return { system: OWN_SUBTYPES, code: `$${r.op}` };
  if (r.c === 'token' || r.c === 'other') return { system: OWN_SUBTYPES, code: r.c };
  return { system: RESTFUL, code: r.c };
}

const resourceEntity = (reference: string): AuditEventEntity => ({
  what: { reference },
  type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
  role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '4', display: 'Domain Resource' },
});

/** AuditEvent.outcome of an HTTP status: success (0), minor failure (4: the client's), serious failure (8: the server's). */
const outcomeOf = (status: number): '0' | '4' | '8' => (status < 400 ? '0' : status < 500 ? '4' : '8');

/**
 * The AuditEvent of a record, in the IHE BALP pattern: type rest, subtype = the FHIR interaction,
 * agents = client / user from the token and this server, entities = Type/id, the redacted query
 * and the patient.
 */
export function expandAudit(r: AuditRecord): AuditEvent {
  const agents: AuditEventAgent[] = [];
  if (r.cl !== undefined) {
    agents.push({
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP', display: 'information recipient' }] },
      who: { identifier: { system: 'urn:ietf:params:oauth:client-id', value: r.cl } },
      requestor: true,
      network: { address: r.ip, type: '2' },
    });
  } else {
    agents.push({
      type: { coding: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110153', display: 'Source Role ID' }] },
      who: { display: 'unauthenticated client' },
      requestor: true,
      network: { address: r.ip, type: '2' },
    });
  }
  if (r.u !== undefined || r.sub !== undefined) {
    agents.push({
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/extra-security-role-type', code: 'humanuser', display: 'human user' }] },
      who: r.u !== undefined ? { reference: r.u } : { identifier: { system: 'urn:ietf:params:oauth:sub', value: r.sub } },
      requestor: true,
    });
  }
  agents.push({
    type: { coding: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110152', display: 'Destination Role ID' }] },
    who: { display: r.n },
    requestor: false,
    network: { address: r.b, type: '5' },
  });
  const entity: AuditEventEntity[] = [];
  for (const ref of r.r ?? []) entity.push(resourceEntity(ref));
  for (const [ref, code] of r.x ?? []) entity.push({ ...resourceEntity(ref), description: code });
  if (r.q !== undefined) {
    entity.push({
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '24', display: 'Query' },
      query: Buffer.from(r.q).toString('base64'),
    });
  }
  for (const id of patientsIn(r)) {
    entity.push({
      what: { reference: `Patient/${id}` },
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1', display: 'Person' },
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
    });
  }
  const sub = subtype(r);
  return {
    resourceType: 'AuditEvent',
    id: r.id,
    meta: { lastUpdated: r.t },
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'Restful Operation' },
    subtype: [sub.system === RESTFUL ? { ...sub, display: sub.code } : sub],
    action: r.a,
    recorded: r.t,
    outcome: outcomeOf(r.s),
    outcomeDesc: `HTTP ${r.s}`,
    agent: agents,
    source: {
      site: r.b,
      observer: { display: r.n },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
    entity: entity.length ? entity : undefined,
    extension: [{ url: 'urn:ccm-fhir-server:request-id', valueString: r.rq }],
  };
}

/** auditKeys(expandAudit(r)), without building the event. */
export function recordKeys(r: AuditRecord): AuditKeys {
  const a: string[] = [];
  const p: string[] = [];
  const add = (list: string[], v: string) => {
    if (!list.includes(v)) list.push(v);
  };
  if (r.cl !== undefined) add(a, r.cl);
  if (r.u !== undefined) {
    add(a, r.u);
    if (r.u.startsWith('Patient/')) add(p, r.u);
  } else if (r.sub !== undefined) add(a, r.sub);
  const e: string[] = [];
  const entity = (ref: string) => {
    add(e, ref);
    if (ref.startsWith('Patient/')) add(p, ref);
  };
  for (const ref of r.r ?? []) entity(ref);
  for (const [ref] of r.x ?? []) entity(ref);
  for (const id of patientsIn(r)) entity(`Patient/${id}`);
  const sub = subtype(r);
  return { i: r.id, t: Date.parse(r.t), a, p, e, s: [sub.code, `${sub.system}|${sub.code}`], x: outcomeOf(r.s), c: r.a };
}

/** The ids of the patients a record names. */
const patientsIn = (r: AuditRecord): readonly string[] => (r.p === undefined ? [] : typeof r.p === 'string' ? [r.p] : r.p);

/** The search keys of a stored entry, record or AuditEvent. */
export const entryKeys = (e: AuditEntry): AuditKeys => (isAuditRecord(e) ? recordKeys(e) : auditKeys(e));

/** The AuditEvent of a stored entry (a record, or a whole AuditEvent written by an earlier version or a test). */
export const toAuditEvent = (e: AuditEntry): AuditEvent => (isAuditRecord(e) ? expandAudit(e) : e);

/** The AuditEvent of a stored line. */
export const entryFromLine = (line: string): AuditEvent => toAuditEvent(JSON.parse(line) as AuditEntry);
