import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4.js';

export type Issue = OperationOutcomeIssue;
export type Severity = Issue['severity'];
export type IssueCode = Issue['code'];

export function issue(severity: Severity, code: IssueCode, expression: string, diagnostics: string): Issue {
  return { severity, code, diagnostics, expression: [expression] };
}

export function hasErrors(issues: readonly Issue[]): boolean {
  return issues.some((i) => i.severity === 'error' || i.severity === 'fatal');
}

/**
 * Re-roots issue paths given from a resource's type (`Condition.code`) under the place where that
 * resource sits (`Bundle.entry[3].resource` gives `Bundle.entry[3].resource.code`).
 */
export function rerootIssues(issues: readonly Issue[], prefix: string): Issue[] {
  return issues.map((i) => ({ ...i, expression: i.expression?.map((e) => rerootPath(e, prefix)) }));
}

export function rerootPath(expression: string, prefix: string): string {
  const dot = expression.search(/[.[]/);
  return dot < 0 ? prefix : prefix + expression.slice(dot);
}

/** An OperationOutcome for an issue list; an empty list gives the customary "all OK" information issue. */
export function toOperationOutcome(issues: readonly Issue[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: issues.length
      ? [...issues]
      : [{ severity: 'information', code: 'informational', diagnostics: 'Validation successful: no issues found' }],
  };
}
