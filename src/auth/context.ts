import { AsyncLocalStorage } from 'node:async_hooks';
import type { Grant } from './scopes.js';

/** Who is calling, from a verified access token. */
export interface AuthContext {
  /** `client_id` (or `azp`, else `sub`) of the token. */
  clientId: string;
  /** `sub` of the token (a user or the client). */
  subject?: string;
  /** `fhirUser` claim (e.g. Practitioner/123). */
  fhirUser?: string;
  /** Patient context (`patient` claim): patient/ grants are confined to this patient's compartment. */
  patient?: string;
  grants: Grant[];
  /** The token has patient/ scopes but no `patient` claim, so those scopes grant nothing (said in a 403). */
  patientScopesUnused?: boolean;
  /** The token's jti, for the audit trail. */
  tokenId?: string;
}

/** One per request while auth is on: the auth hook fills `ctx`, the guarded store reads it. */
export interface RequestAuth {
  ctx?: AuthContext;
}

export const requestAuth = new AsyncLocalStorage<RequestAuth>();
