import type { OperationOutcomeIssue, Resource } from 'fhir/r4.js';
import type { SearchEngine } from '../search/engine.js';
import type { Config } from '../config.js';
import type { Definitions } from '../fhir/definitions.js';
import type { ResourceStore } from '../store/port.js';

/** What the interactions need from the search engine (src/search): the engine itself. */
export type { SearchEngine as SearchService, SearchRequest } from '../search/engine.js';

/** What the interactions need from the validator (src/validation). */
/** Per call: profiles to apply, and the types untyped (urn:) references name (a transaction's fullUrls). */
export interface ValidateOptions {
  profiles?: string[];
  referenceTypes?: Readonly<Record<string, string>>;
}

export interface ValidationService {
  validate(resource: unknown, opts?: ValidateOptions): OperationOutcomeIssue[];
  knowsProfile(url: string): boolean;
  /** Conformance resources of profiles/ and IG packages (their SearchParameters feed search). */
  conformanceResources(): Resource[];
}

/** Everything an interaction may use; built once by app.ts. */
export interface Services {
  config: Config;
  definitions: Definitions;
  store: ResourceStore;
  search: SearchEngine;
  validator: ValidationService | undefined;
  /** Validator threads for large transactions; undefined when there are none. */
  validatorPool?: { readonly size: number; validateMany(resources: unknown[], opts?: ValidateOptions): Promise<OperationOutcomeIssue[][]> };
  resourceTypes: ReadonlySet<string>;
}
