import { randomUUID } from 'node:crypto';
import { isFhirId } from '../rest/checks.js';
import { paramBase } from '../search/compile.js';
import { normalizeReference } from '../search/node-values.js';
import { splitEscaped, unescapeValue } from '../search/search-value.js';
import type { AuthContext } from '../auth/context.js';
import type { Interaction } from '../auth/interactions.js';
import type { Accessed } from '../rest/result.js';
import type { AuditRecord } from './record.js';

/** Most transaction/batch entries named in one AuditEvent. */
const MAX_ENTRY_ENTITIES = 1000;
/** Most patients named in one AuditEvent. */
const MAX_PATIENTS = 1000;

/** Query parameters whose values are kept in the audit trail (they shape results, they name nobody). */
const KEPT_VALUES = new Set(['_count', '_sort', '_include', '_revinclude', '_summary', '_elements', '_total', '_type', '_format']);

/** What encodeURIComponent leaves as it is: such a string needs no call to it (which copies it a character at a time). */
const URI_UNRESERVED = /^[A-Za-z0-9\-_.!~*'()]*$/;
const encodeComponent = (s: string) => (URI_UNRESERVED.test(s) ? s : encodeURIComponent(s));

/** The query with every value redacted except result parameters: an audit record names no one. */
export function redactQuery(query: URLSearchParams): string {
  const out: string[] = [];
  for (const [k, v] of query) out.push(`${encodeComponent(k)}=${KEPT_VALUES.has(paramBase(k)) ? encodeComponent(v) : '*'}`);
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
  /** What the interaction read or wrote, as its result holds it (RestResult.version and accessed). */
  accessed?: readonly Accessed[];
  /** The patients whose compartments hold a resource (src/auth/patient-compartment.ts). */
  patientsOf?: (x: Accessed) => string[];
  /** Patients an operation names in its parameters. */
  patients?: readonly string[];
}

/**
 * Patient ids a search names: patient=, subject= (as Patient/id, or with the :Patient modifier),
 * _id of a Patient search; several values separated by commas. Chains and other modifiers name
 * none. Names and values are read as the search engine reads them (paramBase, splitEscaped,
 * normalizeReference), so the record names the patient the search was about.
 */
function queryPatients(i: Interaction, query: URLSearchParams, baseUrl: string): string[] {
  const out: string[] = [];
  for (const [k, v] of query) {
    const name = paramBase(k);
    const modifier = name.length < k.length ? k.slice(name.length + 1) : undefined;
    const isId = name === '_id' && i.type === 'Patient' && !i.compartment;
    if (!isId && name !== 'patient' && name !== 'subject') continue;
    if (modifier !== undefined && modifier !== 'Patient') continue;
    // A bare id names a Patient for patient= and subject:Patient=; for subject= any type.
    const barePatient = name === 'patient' || modifier === 'Patient';
    for (const one of splitEscaped(v, ',')) {
      let id = one;
      if (!isId) {
        const ref = normalizeReference(unescapeValue(one), baseUrl);
        id = ref.startsWith('Patient/') ? ref.slice(8) : barePatient ? ref : '';
      }
      if (isFhirId(id)) out.push(id);
    }
  }
  return out;
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
  // What a conditional write or delete resolved to (the URL names no id): from the result.
  for (const x of a.accessed ?? []) {
    if (x.code !== undefined) continue;
    const ref = `${x.type}/${x.id}`;
    if (!refs.includes(ref)) refs.push(ref);
  }
  if (refs.length) r.r = refs;
  if (a.entries?.length || a.accessed?.some((x) => x.code !== undefined)) {
    const seen = new Set<string>();
    const x: Array<[string, string]> = [];
    const add = (type: string | undefined, id: string | undefined, code: string) => {
      if (seen.size >= MAX_ENTRY_ENTITIES || !type || !id || id.startsWith('$')) return;
      const ref = `${type}/${id}`;
      if (seen.has(ref)) return;
      seen.add(ref);
      x.push([ref, code]);
    };
    for (const e of a.entries ?? []) add(e.type, e.id, e.code);
    // Entries the URL does not name (creates, conditional writes): as the bundle processing resolved them.
    for (const e of a.accessed ?? []) if (e.code !== undefined) add(e.type, e.id, e.code);
    if (x.length) r.x = x;
  }
  if (r.c.startsWith('search') || r.c.startsWith('history') || i.operation) {
    const q = redactQuery(a.query);
    const path = [i.compartment ? `${i.compartment.type}/${i.compartment.id}` : '', i.type && !i.id ? i.type : '', i.operation ? `$${i.operation}` : ''].filter(Boolean).join('/');
    r.q = `${a.method} ${path}${q ? '?' + q : ''}`;
  }
  // The patients the request is about: the token's, the one the URL names, those a search or an
  // operation names, and those whose compartments hold what it read or wrote.
  const patients = new Set<string>();
  if (a.ctx?.patient) patients.add(a.ctx.patient);
  if (i.type === 'Patient' && i.id) patients.add(i.id);
  if (i.compartment?.type === 'Patient') patients.add(i.compartment.id);
  if (r.c.startsWith('search')) for (const p of queryPatients(i, a.query, a.baseUrl)) patients.add(p);
  for (const p of a.patients ?? []) if (isFhirId(p)) patients.add(p);
  if (a.patientsOf) for (const x of a.accessed ?? []) if (patients.size < MAX_PATIENTS) for (const p of a.patientsOf(x)) patients.add(p);
  if (patients.size === 1) r.p = [...patients][0];
  else if (patients.size > 1) r.p = [...patients].slice(0, MAX_PATIENTS);
  return r;
}
