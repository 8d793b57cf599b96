// AuditEvent search on the audit trail: the supported parameters, parsed strictly into one query
// both sinks answer (the file trail through its per-day key index, MongoDB through its indexes).
import type { AuditEvent } from 'fhir/r4.js';
import { badRequest } from '../fhir/errors.js';
import { dateRange as inclusiveRange } from '../search/date-range.js';

/** Search parameters served, as the CapabilityStatement and error messages name them. */
export const AUDIT_SEARCH_PARAMS = ['date', 'agent', 'patient', 'entity', 'subtype', 'outcome', 'action', '_id', '_count'] as const;

/** Each inner list is one parameter occurrence (comma = OR); the outer list is ANDed. */
type Clauses = string[][];

export interface AuditQuery {
  /** `recorded` range: from <= t < to, epoch ms. */
  from?: number;
  to?: number;
  agent: Clauses;
  patient: Clauses;
  entity: Clauses;
  subtype: Clauses;
  outcome: Clauses;
  action: Clauses;
  id: Clauses;
  count: number;
}

/** What a query can ask of one event, extracted once per event (stored as the file trail's key rows). */
export interface AuditKeys {
  /** id */
  i: string;
  /** recorded, epoch ms */
  t: number;
  /** agent.who: references and identifier values */
  a: string[];
  /** Patient references among entity.what and agent.who */
  p: string[];
  /** entity.what references */
  e: string[];
  /** subtype codes and system|code */
  s: string[];
  /** outcome */
  x?: string;
  /** action */
  c?: string;
}

export function auditKeys(e: AuditEvent): AuditKeys {
  const a = new Set<string>();
  const p = new Set<string>();
  for (const ag of e.agent ?? []) {
    if (ag.who?.reference) a.add(ag.who.reference);
    if (ag.who?.identifier?.value) a.add(ag.who.identifier.value);
    if (ag.who?.reference?.startsWith('Patient/')) p.add(ag.who.reference);
  }
  const ents = new Set<string>();
  for (const en of e.entity ?? []) {
    const r = en.what?.reference;
    if (!r) continue;
    ents.add(r);
    if (r.startsWith('Patient/')) p.add(r);
  }
  const s = new Set<string>();
  for (const c of e.subtype ?? []) {
    if (!c.code) continue;
    s.add(c.code);
    if (c.system) s.add(`${c.system}|${c.code}`);
  }
  return { i: e.id ?? '', t: Date.parse(e.recorded), a: [...a], p: [...p], e: [...ents], s: [...s], x: e.outcome, c: e.action };
}

const anyOf = (have: readonly string[] | string | undefined, clause: readonly string[]) =>
  Array.isArray(have) ? clause.some((v) => have.includes(v)) : clause.includes(have as string);

/** Whether an event's keys satisfy the query (every clause). */
export function matchesKeys(k: AuditKeys, q: AuditQuery): boolean {
  if (q.from !== undefined && !(k.t >= q.from)) return false;
  if (q.to !== undefined && !(k.t < q.to)) return false;
  return (
    q.id.every((c) => anyOf(k.i, c)) &&
    q.agent.every((c) => anyOf(k.a, c)) &&
    q.patient.every((c) => anyOf(k.p, c)) &&
    q.entity.every((c) => anyOf(k.e, c)) &&
    q.subtype.every((c) => anyOf(k.s, c)) &&
    q.outcome.every((c) => anyOf(k.x, c)) &&
    q.action.every((c) => anyOf(k.c, c))
  );
}

/**
 * The [start, end) of a FHIR date/dateTime at its precision, epoch ms, with its prefix; undefined
 * when malformed. Read as every date search value is (src/search/date-range.ts): a value without
 * a zone is UTC, where search.html#date lets the server assume its own zone.
 */
export function dateRange(value: string): { op: string; start: number; end: number } | undefined {
  const m = /^(eq|ge|gt|le|lt)?(\d.*)$/.exec(value);
  if (!m) return undefined;
  const [, op = 'eq', rest] = m;
  const r = inclusiveRange(rest);
  return r && { op, start: r[0], end: r[1] + 1 };
}

/** The code systems of AuditEvent.outcome and .action (R4 bindings), implicit in the stored codes. */
const CODE_SYSTEMS = { outcome: 'http://hl7.org/fhir/audit-event-outcome', action: 'http://hl7.org/fhir/audit-event-action' } as const;

/**
 * A token value on a `code` element (FHIR search, token): `system|code` with the element's own
 * system is the bare code; any other `system|code` (or `|code`, no system) is kept whole, so it
 * matches nothing.
 */
const withoutSystem = (value: string, system: string) => (value.startsWith(system + '|') ? value.slice(system.length + 1) : value);

/** Parses the query string of GET [base]/AuditEvent; unknown parameters and modifiers are a 400 (strict). */
export function parseAuditQuery(params: URLSearchParams, maxCount: number): AuditQuery {
  const q: AuditQuery = { agent: [], patient: [], entity: [], subtype: [], outcome: [], action: [], id: [], count: 50 };
  let counted = false;
  for (const [k, v] of params) {
    // As on every search (search.html#errors): a parameter with no value is ignored.
    if (v === '') continue;
    const list = (x: string) => {
      const vals = x.split(',').map((y) => y.trim()).filter(Boolean);
      if (!vals.length) throw badRequest(`Parameter '${k}' needs a value`, 'value');
      return vals;
    };
    switch (k) {
      case '_count':
        if (counted) throw badRequest(`Parameter '_count' may appear only once`, 'invalid');
        counted = true;
        if (!/^\d{1,9}$/.test(v) || Number(v) > maxCount) throw badRequest(`_count must be a whole number up to ${maxCount}`, 'value');
        q.count = Number(v);
        break;
      case 'date': {
        const r = dateRange(v);
        if (!r) throw badRequest(`Invalid date '${v.slice(0, 40)}': use [eq|ge|gt|le|lt]YYYY[-MM[-DD[Thh:mm[:ss[.sss]][Z|±hh:mm]]]] (no zone: UTC)`, 'value');
        const [from, to] = r.op === 'eq' ? [r.start, r.end] : r.op === 'ge' ? [r.start, undefined] : r.op === 'gt' ? [r.end, undefined] : r.op === 'le' ? [undefined, r.end] : [undefined, r.start];
        if (from !== undefined) q.from = Math.max(q.from ?? from, from);
        if (to !== undefined) q.to = Math.min(q.to ?? to, to);
        break;
      }
      case 'patient':
        q.patient.push(list(v).map((x) => (x.includes('/') ? x.replace(/^.*\/(Patient\/[^/]+)$/, '$1') : `Patient/${x}`)));
        break;
      case 'agent':
      case 'entity':
      case 'subtype':
        q[k].push(list(v));
        break;
      case 'outcome':
      case 'action':
        q[k].push(list(v).map((x) => withoutSystem(x, CODE_SYSTEMS[k])));
        break;
      case '_id':
        q.id.push(list(v));
        break;
      case '_format':
      case '_pretty':
        break;
      default:
        throw badRequest(`Unknown AuditEvent search parameter '${k.slice(0, 40)}': use ${AUDIT_SEARCH_PARAMS.join(', ')}`, 'not-supported');
    }
  }
  return q;
}
