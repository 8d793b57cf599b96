import type { CapabilityStatementRestResource } from 'fhir/r4.js';
import { AUDIT_SEARCH_PARAMS } from './audit-query.js';

/**
 * The CapabilityStatement entry of AuditEvent while the audit trail is on: read and search,
 * served from the trail (src/audit/routes.ts) with its own parameters; the trail is written by
 * the server alone, so no write interactions.
 */
export function auditCapability(r: CapabilityStatementRestResource): CapabilityStatementRestResource {
  const names = new Set<string>(AUDIT_SEARCH_PARAMS);
  return {
    type: r.type,
    profile: r.profile,
    documentation: 'The audit trail (IHE BALP events, one per request), apart from clinical data; needs an AuditEvent scope. Written by the server only.',
    interaction: [{ code: 'read' }, { code: 'search-type' }],
    versioning: 'no-version',
    readHistory: false,
    updateCreate: false,
    conditionalCreate: false,
    conditionalRead: 'not-supported',
    conditionalUpdate: false,
    conditionalDelete: 'not-supported',
    searchParam: (r.searchParam ?? []).filter((p) => names.has(p.name)),
  };
}
