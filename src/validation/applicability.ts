import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4/index.js';
import type { StructureDefinition } from 'fhir/r4.js';
import type { Terminology } from './terminology.js';

/**
 * "Auto" profiles: a profile that applies to a resource because of what it holds (for example the
 * CCM profiles apply to resources carrying CCM codes), declared as data, in either of two ways:
 *
 * 1. An extension on the StructureDefinition (FHIRPath evaluated on the resource, true = applies):
 *    `{ "url": "https://ccm-fhir.org/fhir/StructureDefinition/applies-when", "valueString": "code.coding.where(system='http://snomed.info/sct' and code='44054006').exists()" }`
 *    (`valueExpression.expression` works too).
 * 2. A file `applicability.json` in a profile folder: an array of rules
 *    `{ "profile": url, "expression"?: FHIRPath, "path"?: FHIRPath to codes, "codes"?: [{system, code}], "valueSet"?: url }`.
 *    A rule with `path` applies when a Coding/CodeableConcept there matches one of `codes` or is in `valueSet`;
 *    with `expression` when it evaluates to true; with both, when both hold.
 */
export const APPLIES_WHEN_EXTENSION = 'https://ccm-fhir.org/fhir/StructureDefinition/applies-when';

export interface ApplicabilityRule {
  profile: string;
  expression?: string;
  path?: string;
  codes?: { system?: string; code: string }[];
  valueSet?: string;
}

interface CompiledRule {
  profile: string;
  type: string;
  test(resource: Record<string, unknown>): boolean;
}

type Compiled = (resource: unknown, env?: Record<string, unknown>) => unknown[];
const silent = { traceFn: () => undefined } as unknown as Record<string, unknown>;

export function readApplicabilityFile(dir: string): ApplicabilityRule[] {
  const file = join(dir, 'applicability.json');
  if (!existsSync(file)) return [];
  const value = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  const rules = Array.isArray(value) ? value : (value as { rules?: unknown[] }).rules;
  if (!Array.isArray(rules)) throw new Error(`${file}: expected an array of applicability rules`);
  return rules as ApplicabilityRule[];
}

export function rulesFromExtensions(sds: StructureDefinition[]): ApplicabilityRule[] {
  const out: ApplicabilityRule[] = [];
  for (const sd of sds) {
    for (const ext of sd.extension ?? []) {
      if (ext.url !== APPLIES_WHEN_EXTENSION) continue;
      const expression = ext.valueString ?? ext.valueExpression?.expression;
      if (expression) out.push({ profile: sd.url, expression });
    }
  }
  return out;
}

function codings(value: unknown): { system?: string; code?: string }[] {
  if (typeof value !== 'object' || value === null) return [];
  const v = value as { coding?: unknown; system?: string; code?: string };
  if (Array.isArray(v.coding)) return v.coding as { system?: string; code?: string }[];
  return typeof v.code === 'string' ? [v] : [];
}

/** Chooses the auto profiles for a resource; rules are compiled once. */
export class Applicability {
  private readonly byType = new Map<string, CompiledRule[]>();

  constructor(
    rules: ApplicabilityRule[],
    profileType: (url: string) => string | undefined,
    terminology: Terminology,
  ) {
    for (const rule of rules) {
      const type = profileType(rule.profile);
      if (!type) throw new Error(`Applicability rule names unknown profile ${rule.profile}`);
      const expr = rule.expression ? (fhirpath.compile({ base: type, expression: rule.expression } as never, r4, silent) as unknown as Compiled) : undefined;
      const path = rule.path ? (fhirpath.compile({ base: type, expression: rule.path } as never, r4, silent) as unknown as Compiled) : undefined;
      const codes = new Set((rule.codes ?? []).map((c) => `${c.system ?? ''}|${c.code}`));
      const test = (resource: Record<string, unknown>): boolean => {
        if (expr) {
          const out = expr(resource, { resource, rootResource: resource });
          if (!(out.length === 1 && out[0] === true)) return false;
        }
        if (path) {
          const found = path(resource, { resource, rootResource: resource }).flatMap(codings);
          return found.some(
            (c) =>
              c.code !== undefined &&
              (codes.has(`${c.system ?? ''}|${c.code}`) ||
                (rule.valueSet !== undefined && terminology.check(rule.valueSet, c.system, c.code) === 'member')),
          );
        }
        return true;
      };
      let list = this.byType.get(type);
      if (!list) this.byType.set(type, (list = []));
      list.push({ profile: rule.profile, type, test });
    }
  }

  profilesFor(resource: Record<string, unknown>): string[] {
    const rules = this.byType.get(resource.resourceType as string);
    if (!rules) return [];
    const out: string[] = [];
    for (const r of rules) {
      try {
        if (r.test(resource)) out.push(r.profile);
      } catch {
        // A rule that cannot be evaluated on this resource does not apply.
      }
    }
    return out;
  }
}
