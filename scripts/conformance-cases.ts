/** Reading and scoring the HL7 fhir-test-cases (used by test/validation and scripts/bench-validation-vs-medplum.ts). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OperationOutcomeIssue, Resource } from 'fhir/r4.js';

/** One row of fhir-test-cases/index.json (see its README). */
export interface CaseRow {
  name: string;
  tier: 'core' | 'profile';
  module: string;
  file: string;
  resourceType: string | null;
  jsonParses: boolean;
  baseCheckable: boolean;
  expected: { errorCount: number; issues: { severity: string; expression?: string; text: string }[] };
  profile: null | { source: string; supporting?: string[]; expected: { errorCount: number; issues: { severity: string; expression?: string }[] } | null };
}

/** A manifest entry; besides these, validator options such as `security-checks` (see policiesFromManifest). */
export interface ManifestEntry {
  name: string;
  profiles?: string[];
  supporting?: string[];
  [option: string]: unknown;
}

export function readCases(root: string): { rows: CaseRow[]; manifest: Map<string, ManifestEntry> } {
  const rows = JSON.parse(readFileSync(join(root, 'index.json'), 'utf8')) as CaseRow[];
  const manifest = JSON.parse(readFileSync(join(root, 'validator', 'manifest.json'), 'utf8')) as { 'test-cases': ManifestEntry[] };
  return { rows, manifest: new Map(manifest['test-cases'].map((e) => [e.name, e])) };
}

/** Loads the JSON conformance files a case names (XML ones cannot be read here and are reported). */
export function loadSupport(root: string, files: string[]): { resources: Resource[]; unreadable: string[] } {
  const resources: Resource[] = [];
  const unreadable: string[] = [];
  for (const f of files) {
    const full = join(root, 'validator', f);
    if (!f.endsWith('.json') || !existsSync(full)) {
      unreadable.push(f);
      continue;
    }
    resources.push(JSON.parse(readFileSync(full, 'utf8')) as Resource);
  }
  return { resources, unreadable };
}

/** Java writes `Bundle.entry[0].resource/*Composition/x*\/.section`; drop the comments. */
export function normalisePath(p: string): string {
  return p.replace(/\/\*.*?\*\//g, '');
}

/** True when `actual` is the expected element or lies under it. */
export function atOrUnder(actual: string, expected: string): boolean {
  const a = normalisePath(actual);
  const e = normalisePath(expected);
  return a === e || a.startsWith(`${e}.`) || a.startsWith(`${e}[`);
}

export function errorsOf(issues: readonly OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  return issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
}

/** Agreement for one validation step: same valid/invalid verdict, and for invalid ones an error at/under an expected path. */
export function agrees(
  actual: readonly OperationOutcomeIssue[],
  expected: { errorCount: number; issues: { severity: string; expression?: string }[] },
): { verdict: boolean; located: boolean } {
  const mine = errorsOf(actual);
  const expectedInvalid = expected.errorCount > 0;
  const verdict = expectedInvalid === mine.length > 0;
  if (!expectedInvalid) return { verdict, located: verdict };
  const paths = expected.issues.filter((i) => (i.severity === 'error' || i.severity === 'fatal') && i.expression).map((i) => i.expression as string);
  const located = paths.length === 0 ? mine.length > 0 : mine.some((m) => (m.expression ?? []).some((x) => paths.some((p) => atOrUnder(x, p))));
  return { verdict, located };
}
