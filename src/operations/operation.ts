import type { RestResult } from '../rest/result.js';
import type { Services } from '../rest/services.js';

/** A FHIR operation ($name) the server serves at some of the levels system, type, instance. */
export interface Operation {
  /** Without the '$'. */
  name: string;
  /** Canonical URL of its OperationDefinition. */
  definition: string;
  system?: boolean;
  /** Resource types it runs on at type and instance level ('*' = all). */
  types: string[];
  typeLevel?: boolean;
  instanceLevel?: boolean;
  /** Methods accepted (GET only for operations without side effects). */
  methods: Array<'GET' | 'POST'>;
  run(s: Services, call: OperationCall): Promise<RestResult>;
}

export interface OperationCall {
  method: 'GET' | 'POST';
  type?: string;
  id?: string;
  /** Query parameters in order. */
  query: Array<[string, string]>;
  body: unknown;
  header(name: string): string | undefined;
}

/** The HTTP methods an operation answers, as an Allow header lists them: its own, and HEAD wherever GET is served. */
export function httpMethodsOf(op: Pick<Operation, 'methods'>): string[] {
  return [...op.methods, ...(op.methods.includes('GET') ? ['HEAD'] : [])].sort();
}
