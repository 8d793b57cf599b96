import type { OperationOutcomeIssue, Resource } from 'fhir/r4.js';
import { FhirError, hasErrors } from '../fhir/errors.js';
import { rerootIssues } from '../validation/validator.js';
import type { IndexValues } from '../store/port.js';
import type { Services } from './services.js';

export interface Prepared {
  resource: Resource;
  idx: IndexValues;
  /** Non-fatal validation issues, returned to the client. */
  warnings: OperationOutcomeIssue[];
}

/**
 * Validates a resource about to be written and extracts its search index values.
 * Invalid content is refused (422) before anything is written. `root` re-roots issue
 * expressions for bundle entries, e.g. 'Bundle.entry[3].resource'.
 */
export function prepare(s: Services, resource: Resource, root?: string): Prepared {
  let warnings: OperationOutcomeIssue[] = [];
  if (s.config.validate && s.validator) {
    const raw = s.validator.validate(resource);
    const issues = root ? rerootIssues(raw, root) : raw;
    if (hasErrors(issues)) throw new FhirError(422, issues);
    warnings = issues;
  }
  return { resource, idx: s.search.extractIndex(resource), warnings };
}
