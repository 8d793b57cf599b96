import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4.js';

type IssueCode = OperationOutcomeIssue['code'];

/**
 * The one error type of the server: an HTTP status plus OperationOutcome issues.
 * Layers below HTTP throw it; only the HTTP layer turns it into a response.
 */
export class FhirError extends Error {
  readonly status: number;
  readonly issues: OperationOutcomeIssue[];
  /** Extra response headers (e.g. Retry-After). */
  readonly headers: Record<string, string>;

  constructor(status: number, issues: OperationOutcomeIssue[] | OperationOutcomeIssue, headers: Record<string, string> = {}) {
    const list = Array.isArray(issues) ? issues : [issues];
    super(list.map((i) => i.diagnostics ?? i.code).join('; ') || `HTTP ${status}`);
    this.name = 'FhirError';
    this.status = status;
    this.issues = list;
    this.headers = headers;
  }

  static of(status: number, code: IssueCode, diagnostics: string, expression?: string): FhirError {
    const issue: OperationOutcomeIssue = { severity: 'error', code, diagnostics };
    if (expression) issue.expression = [expression];
    return new FhirError(status, issue);
  }

  outcome(): OperationOutcome {
    return { resourceType: 'OperationOutcome', issue: this.issues };
  }
}

export const badRequest = (diagnostics: string, code: IssueCode = 'invalid', expression?: string) =>
  FhirError.of(400, code, diagnostics, expression);
export const notFound = (diagnostics: string) => FhirError.of(404, 'not-found', diagnostics);
export const gone = (diagnostics: string) => FhirError.of(410, 'deleted', diagnostics);
export const conflict = (diagnostics: string) => FhirError.of(409, 'conflict', diagnostics);
export const preconditionFailed = (diagnostics: string) => FhirError.of(412, 'conflict', diagnostics);
export const notSupported = (diagnostics: string, status = 400) => FhirError.of(status, 'not-supported', diagnostics);

export function outcomeOf(issues: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

export function hasErrors(issues: readonly OperationOutcomeIssue[]): boolean {
  return issues.some((i) => i.severity === 'error' || i.severity === 'fatal');
}
