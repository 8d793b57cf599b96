import type { OperationOutcomeIssue, Resource } from 'fhir/r4.js';
import type { StoredVersion } from '../store/port.js';

/** What an interaction produced; the HTTP layer renders it (format, Prefer, headers). */
export interface RestResult {
  status: number;
  /** The version written or read, for ETag / Last-Modified / Location and the body. */
  version?: StoredVersion;
  /** A body that is not a stored version (Bundle, CapabilityStatement, OperationOutcome...). */
  body?: Resource;
  /** Issues to report (validation warnings, informational notes). */
  issues?: OperationOutcomeIssue[];
  /** Location header: set for creates. */
  location?: string;
  headers?: Record<string, string>;
}
