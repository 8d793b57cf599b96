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
  /**
   * What the interaction read or wrote beyond `version`, for its audit record: a deleted
   * resource's last content, a transaction or batch entry's resource (with the entry's
   * interaction code). The audit names them and the patients whose compartments hold them.
   */
  accessed?: Accessed[];
}

export interface Accessed {
  type: string;
  id: string;
  /** The content the interaction had (a deletion: the content it ended). */
  resource?: Resource;
  /** The version it read or wrote, when it has one: its content is parsed only if its index values are not at hand. */
  version?: StoredVersion;
  /** A bundle entry's interaction (create, update, patch, delete, read). */
  code?: string;
}
