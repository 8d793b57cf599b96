import type { Bundle, OperationOutcomeIssue, Resource, SearchParameter } from 'fhir/r4.js';
import type { Config } from '../config.js';
import type { Definitions } from '../fhir/definitions.js';
import type { IndexValues, ResourceStore, StoredVersion, StoreTx } from '../store/port.js';

/** What the interactions need from the search engine (src/search). */
export interface SearchService {
  extractIndex(resource: Resource): IndexValues;
  readonly indexes: Array<Record<string, 1 | -1>>;
  search(store: ResourceStore, req: SearchRequest): Promise<Bundle>;
  findMatches(reader: { find: StoreTx['find'] }, type: string, params: Array<[string, string]>): Promise<StoredVersion[]>;
  parametersFor(type: string): SearchParameter[];
}

export interface SearchRequest {
  types: string[];
  params: Array<[string, string]>;
  compartment?: { type: string; id: string };
  lenient?: boolean;
  path: string;
}

/** What the interactions need from the validator (src/validation). */
export interface ValidationService {
  validate(resource: unknown, opts?: { profiles?: string[] }): OperationOutcomeIssue[];
  knowsProfile(url: string): boolean;
}

/** Everything an interaction may use; built once by app.ts. */
export interface Services {
  config: Config;
  definitions: Definitions;
  store: ResourceStore;
  search: SearchService;
  validator: ValidationService | undefined;
  resourceTypes: ReadonlySet<string>;
}
