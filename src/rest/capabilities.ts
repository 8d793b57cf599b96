import { createHash } from 'node:crypto';
import type { CapabilityStatement, CapabilityStatementRestResource } from 'fhir/r4.js';
import { auditCapability } from '../audit/capability.js';
import { restSecurity } from '../auth/capability-security.js';
import type { Services } from './services.js';

/** An operation the server really serves, for the CapabilityStatement. */
export interface OperationInfo {
  name: string;
  definition: string;
  /** Resource types it runs on ('*' for all), empty for system level only. */
  types: string[];
  system?: boolean;
  typeLevel?: boolean;
  instanceLevel?: boolean;
}

const TYPE_INTERACTIONS = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type'] as const;

/** Generated from what the server really supports: types, interactions, search parameters, operations. */
export function capabilityStatement(s: Services, operations: readonly OperationInfo[], software: { name: string; version: string }): CapabilityStatement {
  const resource: CapabilityStatementRestResource[] = [...s.resourceTypes].sort().map((type) => {
    const params = s.search.parametersFor(type);
    const ops = operations.filter((o) => (o.typeLevel || o.instanceLevel) && (o.types.includes(type) || o.types.includes('*')));
    const r: CapabilityStatementRestResource = {
      type: type as CapabilityStatementRestResource['type'],
      profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
      interaction: TYPE_INTERACTIONS.map((code) => ({ code })),
      versioning: 'versioned-update',
      readHistory: true,
      updateCreate: true,
      conditionalCreate: true,
      conditionalRead: 'full-support',
      conditionalUpdate: true,
      conditionalDelete: 'single',
      referencePolicy: ['literal', 'local'],
      searchInclude: params.length ? ['*'] : undefined,
      searchRevInclude: params.length ? ['*'] : undefined,
      searchParam: params.map((p) => ({ name: p.code, definition: p.url, type: p.type, documentation: p.description })),
    };
    if (ops.length) r.operation = ops.map((o) => ({ name: o.name, definition: o.definition }));
    return type === 'AuditEvent' && s.config.auth.audit ? auditCapability(r) : r;
  });
  const systemOps = operations.filter((o) => o.system);
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software,
    implementation: { description: 'ccm-fhir-server: FHIR R4 for Chronic Care Management', url: s.config.baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        mode: 'server',
        security: restSecurity(s.config),
        resource,
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'history-system' }, { code: 'search-system' }],
        operation: systemOps.length ? systemOps.map((o) => ({ name: o.name, definition: o.definition })) : undefined,
      },
    ],
  };
}

/**
 * The capabilities interaction's answer, with an ETag derived from the content (capabilities.html:
 * an ETag SHOULD be returned and SHALL change when the statement does). The statement is built on
 * each call, as it says what the running server supports; `date` is when this content was first
 * served, so the same content keeps the same date and ETag.
 */
export class Capabilities {
  private seen: { hash: string; date: string } | undefined;

  constructor(
    private readonly s: Services,
    private readonly operations: readonly OperationInfo[],
    private readonly software: { name: string; version: string },
  ) {}

  current(): { statement: CapabilityStatement; etag: string; opaque: string } {
    const statement = capabilityStatement(this.s, this.operations, this.software);
    const { date, ...content } = statement;
    const hash = createHash('sha256').update(JSON.stringify(content)).digest('base64url').slice(0, 27);
    if (this.seen?.hash !== hash) this.seen = { hash, date: date! };
    statement.date = this.seen.date;
    return { statement, etag: `W/"${hash}"`, opaque: hash };
  }
}
