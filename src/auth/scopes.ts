// SMART on FHIR resource scopes, v1 (`patient/Condition.read`, `user/*.*`) and v2
// (`system/Condition.rs`, `patient/Condition.rs?category=problem-list-item`), parsed into grants.
// https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
import { RESULT_PARAMS } from '../search/compile.js';

/** c create, r read (read, vread, history-instance), u update/patch, d delete, s search (search, history-type/system). */
export type Perm = 'c' | 'r' | 'u' | 'd' | 's';
export const PERMS: readonly Perm[] = ['c', 'r', 'u', 'd', 's'];

export interface Grant {
  context: 'patient' | 'user' | 'system';
  /** Resource type or '*'. */
  type: string;
  perms: ReadonlySet<Perm>;
  /** v2 query restriction (`?category=problem-list-item`): the grant covers only matching resources. */
  params?: Array<[string, string]>;
  /** The scope as written, for messages. */
  scope: string;
}

const SCOPE = /^(patient|user|system)\/(\*|[A-Z][A-Za-z]{1,63})\.([a-z*]+)(?:\?(.+))?$/;

/** Permissions of a v1 (`read`, `write`, `*`) or v2 (`cruds` subset, in that order) suffix; undefined when malformed. */
export function permsOf(suffix: string): Set<Perm> | undefined {
  if (suffix === 'read') return new Set(['r', 's']);
  if (suffix === 'write') return new Set(['c', 'u', 'd']);
  if (suffix === '*') return new Set(PERMS);
  if (!/^c?r?u?d?s?$/.test(suffix) || suffix === '') return undefined;
  return new Set(suffix.split('') as Perm[]);
}

/** One scope string -> a grant, or undefined for scopes that are not resource scopes (openid, launch/patient, ...). */
export function parseScope(scope: string): Grant | undefined {
  const m = SCOPE.exec(scope);
  if (!m) return undefined;
  const perms = permsOf(m[3]);
  if (!perms) return undefined;
  const g: Grant = { context: m[1] as Grant['context'], type: m[2], perms, scope };
  if (m[4] !== undefined) {
    // Query restrictions are a v2 feature.
    if (['read', 'write', '*'].includes(m[3])) return undefined;
    const params = [...new URLSearchParams(m[4])];
    // An empty value would be ignored by search (search.html#errors), and a result parameter
    // (_summary, _sort, _count, ...) selects nothing, so the grant would cover every resource of
    // the type: a restriction that cannot be honoured as written grants nothing.
    if (params.length === 0 || params.some(([k, v]) => !/^[A-Za-z_][A-Za-z0-9_\-.:]*$/.test(k) || v === '' || RESULT_PARAMS.has(k.split(':')[0]))) return undefined;
    g.params = params;
  }
  return g;
}

/** The space-separated `scope` claim -> grants; patient/ grants are dropped when there is no patient context. */
export function parseScopes(scope: unknown, patient: string | undefined): Grant[] {
  if (typeof scope !== 'string') return [];
  return scope
    .split(/\s+/)
    .filter(Boolean)
    .map(parseScope)
    .filter((g): g is Grant => g !== undefined && (g.context !== 'patient' || patient !== undefined));
}

/**
 * Types a `*` scope does not cover: the audit trail is read (and, with the trail off, written) only
 * under a scope that names AuditEvent (README, Security), whatever else the token may do.
 */
export const NOT_IN_WILDCARD: ReadonlySet<string> = new Set(['AuditEvent']);

export function covers(g: Grant, type: string): boolean {
  return g.type === type || (g.type === '*' && !NOT_IN_WILDCARD.has(type));
}

/** Grants that give `perm` on `type`. */
export function grantsFor(grants: readonly Grant[], type: string, perm: Perm): Grant[] {
  return grants.filter((g) => g.perms.has(perm) && covers(g, type));
}

/** Grants that let a resource of `type` be seen at all (read or search). */
export function readGrants(grants: readonly Grant[], type: string): Grant[] {
  return grants.filter((g) => (g.perms.has('r') || g.perms.has('s')) && covers(g, type));
}

/** Scopes this server understands, for .well-known/smart-configuration. */
export const SUPPORTED_SCOPE_EXAMPLES = ['system/*.rs', 'system/*.cruds', 'user/*.cruds', 'patient/*.rs', 'system/AuditEvent.rs'];
