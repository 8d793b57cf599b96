import type { OperationOutcomeIssue, Resource } from 'fhir/r4.js';
import type { SearchEngine } from '../search/engine.js';
import type { Config } from '../config.js';
import type { Definitions } from '../fhir/definitions.js';
import type { ResourceStore } from '../store/port.js';

/** What the interactions need from the search engine (src/search): the engine itself. */
export type { SearchEngine as SearchService, SearchRequest } from '../search/engine.js';

/** What the interactions need from the validator (src/validation). */
export interface ValidationService {
  validate(resource: unknown, opts?: { profiles?: string[] }): OperationOutcomeIssue[];
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
  validatorPool?: { readonly size: number; validateMany(resources: unknown[]): Promise<OperationOutcomeIssue[][]> };
  resourceTypes: ReadonlySet<string>;
}
