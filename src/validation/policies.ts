/**
 * Validation policies: the checks the HL7 Java reference validator leaves to a setting, under the
 * names that validator (and the fhir-test-cases manifest) gives them. The defaults here are the
 * Java validator's, so that a bare validator agrees with its reference outcomes; the server picks
 * its own defaults (src/config.ts, README "Validation").
 */

/** Whether references must resolve, and to what (Java `ReferenceValidationPolicy`). */
export const REFERENCE_POLICIES = ['IGNORE', 'CHECK_TYPE_IF_EXISTS', 'CHECK_EXISTS', 'CHECK_EXISTS_AND_TYPE', 'CHECK_VALID'] as const;
export type ReferencePolicy = (typeof REFERENCE_POLICIES)[number];

/** What is done with contained resources (Java `ContainedReferenceValidationPolicy`). */
export const CONTAINED_POLICIES = ['IGNORE', 'CHECK_TYPE', 'CHECK_VALID'] as const;
export type ContainedPolicy = (typeof CONTAINED_POLICIES)[number];

/** HTML tags in markdown values (Java `HtmlInMarkdownCheck`). */
export const MARKDOWN_HTML_LEVELS = ['none', 'warning', 'error'] as const;
export type MarkdownHtmlLevel = (typeof MARKDOWN_HTML_LEVELS)[number];

export interface ValidationPolicies {
  /** `security-checks`: a primitive value (except narrative xhtml) that holds an HTML tag is an error. */
  securityChecks: boolean;
  /** `noHtmlInMarkdown` = 'error': an unescaped `<` + letter in a markdown value; 'warning' reports it without refusing. */
  htmlInMarkdown: MarkdownHtmlLevel;
  /** `validateContains`: IGNORE skips contained resources entirely, CHECK_TYPE checks only their type, CHECK_VALID validates them. */
  contained: ContainedPolicy;
  /** `validateReference`: beyond IGNORE, references are resolved (see references.ts for where). */
  references: ReferencePolicy;
}

/** The Java validator's defaults (its test harness starts from these). */
export const JAVA_DEFAULT_POLICIES: Readonly<ValidationPolicies> = Object.freeze({
  securityChecks: false,
  htmlInMarkdown: 'warning',
  contained: 'CHECK_VALID',
  references: 'IGNORE',
});

/** Policies named in a fhir-test-cases manifest entry, over the Java defaults. */
export function policiesFromManifest(entry: Record<string, unknown>): ValidationPolicies {
  const p: ValidationPolicies = { ...JAVA_DEFAULT_POLICIES };
  if (entry['security-checks'] === true) p.securityChecks = true;
  if (entry.noHtmlInMarkdown === true) p.htmlInMarkdown = 'error';
  if (typeof entry.validateContains === 'string') p.contained = oneOf(CONTAINED_POLICIES, entry.validateContains, 'validateContains');
  if (typeof entry.validateReference === 'string') p.references = oneOf(REFERENCE_POLICIES, entry.validateReference, 'validateReference');
  return p;
}

/** A value of an enumerated setting, or an error naming the setting and the allowed values. */
export function oneOf<T extends string>(allowed: readonly T[], value: string, setting: string): T {
  const hit = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
  if (!hit) throw new Error(`${setting} must be one of ${allowed.join(', ')}, not '${value}'`);
  return hit;
}

export const checksReferenceType = (p: ReferencePolicy): boolean => p !== 'IGNORE' && p !== 'CHECK_EXISTS';
export const checksReferenceExists = (p: ReferencePolicy): boolean => p === 'CHECK_EXISTS' || p === 'CHECK_EXISTS_AND_TYPE' || p === 'CHECK_VALID';
