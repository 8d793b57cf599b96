// Typed access to rules/codes.json: the code table (§6), program families and their selection
// order (EP13), concurrency blocks (EP11) and initiating-visit codes (R12). A new CMS year is a
// change of that file only.
import codesJson from './rules/codes.json' with { type: 'json' };

export type Program = 'CCM' | 'PCM';

export interface CodeDefinition {
  code: string;
  system: string;
  family: string;
  role: string;
  performer: string;
  requiresBase: string | null;
  minMinutesFirst: number | null;
  incrementMinutes: number | null;
  /** null = no cap. */
  maxUnitsPerMonth: number | null;
  capSource: string;
  /** The cap is an engine default, not a confirmed CMS limit (⚠). */
  capIsEngineDefault: boolean;
  effectiveFromYear: number | null;
  effectiveToYear: number | null;
  rules: string[];
  note?: string;
}

export type FamilyRequirement = 'complex-elements' | 'no-staff-minutes';

export interface FamilyDefinition {
  family: string;
  base: string;
  addon: string;
  /** Which minutes the family counts: all countable minutes (M) or the practitioner's only (P). */
  minutes: 'all' | 'practitioner';
  requires: FamilyRequirement[];
  rules: string[];
}

export interface ConcurrencyRule {
  key?: string;
  note?: string;
  programs: Program[];
  codes: string[];
  /** same = plain CODE or CODE|chosen practitioner; other = CODE|someone else; any = either. */
  practitioner: 'same' | 'other' | 'any';
  rules: string[];
  unconfirmed: boolean;
  text?: string;
}

export interface CodeTable {
  coveredYears: number[];
  codes: CodeDefinition[];
  programs: Record<Program, { rules: string[]; families: FamilyDefinition[] }>;
  complexMdmLevels: string[];
  concurrency: { blocks: ConcurrencyRule[]; allowed: ConcurrencyRule[] };
  initiatingVisit: { rules: string[]; cpt: string[]; hcpcs: string[]; encounterClasses: string[]; note: string };
}

export const defaultCodeTable: CodeTable = codesJson as CodeTable;

export function codeDefinition(table: CodeTable, code: string): CodeDefinition {
  const def = table.codes.find((c) => c.code === code);
  if (!def) throw new Error(`code ${code} missing from the code table`);
  return def;
}

export function isEffective(def: CodeDefinition, year: number): boolean {
  return (def.effectiveFromYear === null || def.effectiveFromYear <= year) && (def.effectiveToYear === null || year <= def.effectiveToYear);
}
