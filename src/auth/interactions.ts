import type { Perm } from './scopes.js';

/** What a request (or a transaction/batch entry) does, for enforcement and for the audit trail. */
export interface Interaction {
  /** http://hl7.org/fhir/restful-interaction code, or 'operation', 'capabilities', 'token', 'other'. */
  code: string;
  /** AuditEvent.action: C create, R read, U update, D delete, E execute. */
  action: 'C' | 'R' | 'U' | 'D' | 'E';
  type?: string;
  id?: string;
  /** Operation name without '$'. */
  operation?: string;
  /** Compartment of a compartment search (Patient/1/Condition). */
  compartment?: { type: string; id: string };
  /** Permissions needed: type '*' = on any type. */
  needs: Array<{ type: string; perm: Perm }>;
  /** Served without a token. */
  public?: boolean;
}

/** Types the CCM operations read ($ccm-eligibility, $ccm-billing, $ccm-worklist). */
export const CCM_READ_TYPES = ['Patient', 'Coverage', 'Condition', 'Consent', 'CarePlan', 'Encounter', 'Procedure', 'ChargeItem'];

function operationNeeds(name: string, query: URLSearchParams): Interaction['needs'] {
  if (name.startsWith('ccm-')) return CCM_READ_TYPES.flatMap((type) => [{ type, perm: 'r' as const }, { type, perm: 's' as const }]);
  // Patient/[id]/$everything reads the patient, then searches its compartment as Patient/[id]/* does.
  if (name === 'everything') return [{ type: 'Patient', perm: 'r' }, ...typesNamed(query)];
  return [];
}

/** Search permission on each type _type names, or on some type ('*') without one. */
function typesNamed(query: URLSearchParams): Interaction['needs'] {
  const types = query.getAll('_type').flatMap((t) => t.split(',')).filter(Boolean);
  return (types.length ? types : ['*']).map((type) => ({ type, perm: 's' }));
}

/** A FHIR path below the base (no leading '/fhir'), split on '/', and its query. */
export function classify(method: string, parts: string[], query: URLSearchParams): Interaction {
  const m = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  const [a, b, c] = parts;
  const n = parts.length;
  if (n === 0) {
    if (m === 'POST') return { code: 'transaction', action: 'E', needs: [] };
    return { code: 'search-system', action: 'E', needs: typesNamed(query) };
  }
  if (n === 1 && a === 'metadata') return { code: 'capabilities', action: 'R', needs: [], public: true };
  if (n === 2 && a === '.well-known' && b === 'smart-configuration') return { code: 'capabilities', action: 'R', needs: [], public: true };
  if (n === 1 && a === '_search') return { code: 'search-system', action: 'E', needs: typesNamed(query) };
  if (n === 1 && a === '_history') return { code: 'history-system', action: 'R', needs: [{ type: '*', perm: 's' }] };
  // $versions tells what the endpoint speaks, as metadata does: public too.
  if (a === '$versions') return { code: 'operation', action: 'E', operation: 'versions', needs: [], public: true };
  if (a.startsWith('$')) return { code: 'operation', action: 'E', operation: a.slice(1), needs: operationNeeds(a.slice(1), query) };
  if (n === 1) {
    if (m === 'GET') return { code: 'search-type', action: 'E', type: a, needs: [{ type: a, perm: 's' }] };
    if (m === 'POST') return { code: 'create', action: 'C', type: a, needs: [{ type: a, perm: 'c' }] };
    if (m === 'PUT') return { code: 'update', action: 'U', type: a, needs: [{ type: a, perm: 'u' }] };
    if (m === 'DELETE') return { code: 'delete', action: 'D', type: a, needs: [{ type: a, perm: 'd' }] };
  }
  if (n === 2 && b === '_search') return { code: 'search-type', action: 'E', type: a, needs: [{ type: a, perm: 's' }] };
  if (n === 2 && b === '_history') return { code: 'history-type', action: 'R', type: a, needs: [{ type: a, perm: 's' }] };
  if (n === 2 && b.startsWith('$')) return { code: 'operation', action: 'E', type: a, operation: b.slice(1), needs: operationNeeds(b.slice(1), query) };
  // Literals, not spreads: a spread object here costs more than the rest of the classification.
  if (n === 2) {
    if (m === 'GET') return { type: a, id: b, code: 'read', action: 'R', needs: [{ type: a, perm: 'r' }] };
    if (m === 'PUT') return { type: a, id: b, code: 'update', action: 'U', needs: [{ type: a, perm: 'u' }] };
    if (m === 'PATCH') return { type: a, id: b, code: 'patch', action: 'U', needs: [{ type: a, perm: 'u' }] };
    if (m === 'DELETE') return { type: a, id: b, code: 'delete', action: 'D', needs: [{ type: a, perm: 'd' }] };
  }
  if (n === 3 && c === '_history') return { code: 'history-instance', action: 'R', type: a, id: b, needs: [{ type: a, perm: 'r' }] };
  if (n === 4 && c === '_history') return { code: 'vread', action: 'R', type: a, id: b, needs: [{ type: a, perm: 'r' }] };
  if (n === 3 && c.startsWith('$')) return { code: 'operation', action: 'E', type: a, id: b, operation: c.slice(1), needs: operationNeeds(c.slice(1), query) };
  // Patient/1/*: every type of the compartment, or those _type names, as a system search needs them.
  if (n === 3 && c === '*') return { code: 'search-type', action: 'E', compartment: { type: a, id: b }, needs: typesNamed(query) };
  if (n === 3) return { code: 'search-type', action: 'E', type: c, compartment: { type: a, id: b }, needs: [{ type: c, perm: 's' }] };
  return { code: 'other', action: 'E', needs: [] };
}

/** Splits a URL (path and query, as received or as a bundle entry's request.url) below the FHIR base; `parsed` is its query when already parsed. */
export function splitFhirUrl(url: string, prefix = '', parsed?: URLSearchParams): { parts: string[]; query: URLSearchParams } | undefined {
  const i = url.indexOf('?');
  const path = i < 0 ? url : url.slice(0, i);
  const query = parsed ?? new URLSearchParams(i < 0 ? '' : url.slice(i + 1));
  if (prefix) {
    if (path !== prefix && !path.startsWith(prefix + '/')) return undefined;
    return { parts: path.slice(prefix.length).split('/').filter(Boolean).map(safeDecode), query };
  }
  return { parts: path.split('/').filter(Boolean).map(safeDecode), query };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
