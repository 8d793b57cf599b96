// Chronic condition categories (§12, EP4), loaded from the FHIR ConceptMap, ValueSet and
// CodeSystem in profiles/ (or a configured folder holding resources with the same canonical
// URLs), so that what counts is data, not code.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CodeSystem, ConceptMap, ValueSet } from 'fhir/r4.js';

export const ICD10CM = 'http://hl7.org/fhir/sid/icd-10-cm';
export const SNOMED = 'http://snomed.info/sct';
const BASE = 'https://ccm-fhir.org/fhir';
export const CATEGORY_SYSTEM = `${BASE}/CodeSystem/chronic-condition-category`;
export const CATEGORY_MAP_URL = `${BASE}/ConceptMap/chronic-condition-category`;
export const COUNTING_VALUESET_URL = `${BASE}/ValueSet/chronic-condition-categories-counting`;

export interface CategoryTable {
  /** Normalised ICD-10-CM prefix (upper case, no dot) -> category id. */
  icdPrefixes: ReadonlyMap<string, string>;
  longestPrefix: number;
  /** SNOMED CT code -> category id. */
  snomed: ReadonlyMap<string, string>;
  /** Categories that count toward R1/R3 (§12 counts = Y). */
  counting: ReadonlySet<string>;
  labels: ReadonlyMap<string, string>;
}

export const normaliseIcd = (code: string): string => code.trim().toUpperCase().replace(/\./g, '');

/** Category of a coded condition: ICD-10-CM by longest prefix, SNOMED CT exact, else null (EP4). */
export function categoryOf(table: CategoryTable, system: string, code: string): string | null {
  if (system === ICD10CM) {
    const n = normaliseIcd(code);
    for (let len = Math.min(n.length, table.longestPrefix); len > 0; len--) {
      const hit = table.icdPrefixes.get(n.slice(0, len));
      if (hit) return hit;
    }
    return null;
  }
  if (system === SNOMED) return table.snomed.get(code.trim()) ?? null;
  return null;
}

/** Builds the table from the three FHIR resources (CodeSystem optional: labels only). */
export function categoryTableFrom(conceptMap: ConceptMap, counting: ValueSet, codeSystem?: CodeSystem): CategoryTable {
  const icdPrefixes = new Map<string, string>();
  const snomed = new Map<string, string>();
  for (const group of conceptMap.group ?? []) {
    if (group.target !== undefined && group.target !== CATEGORY_SYSTEM) continue;
    const target = group.source === ICD10CM ? icdPrefixes : group.source === SNOMED ? snomed : null;
    if (!target) continue;
    for (const el of group.element ?? []) {
      const to = el.target?.find((t) => t.code && t.equivalence !== 'unmatched' && t.equivalence !== 'disjoint');
      if (!el.code || !to?.code) continue;
      const key = group.source === ICD10CM ? normaliseIcd(el.code) : el.code.trim();
      if (target.has(key) && target.get(key) !== to.code) {
        throw new Error(`ConceptMap ${conceptMap.url}: ${el.code} maps to both ${target.get(key)} and ${to.code}`);
      }
      target.set(key, to.code);
    }
  }
  const countingSet = new Set<string>();
  for (const inc of counting.compose?.include ?? []) {
    if (inc.system !== CATEGORY_SYSTEM) continue;
    for (const c of inc.concept ?? []) countingSet.add(c.code);
  }
  const labels = new Map<string, string>();
  for (const c of codeSystem?.concept ?? []) if (c.display) labels.set(c.code, c.display);
  return {
    icdPrefixes,
    longestPrefix: Math.max(0, ...[...icdPrefixes.keys()].map((k) => k.length)),
    snomed,
    counting: countingSet,
    labels,
  };
}

/** profiles/ of this checkout, found by walking up from this module (works from src/ and dist/src/). */
export function defaultProfilesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'profiles');
    if (existsSync(join(candidate, 'ConceptMap-chronic-condition-category.json'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('profiles/ with the chronic condition ConceptMap not found');
    dir = parent;
  }
}

/** Reads the category resources from a folder, finding them by canonical URL among its *.json files. */
export function loadCategoryTable(profilesDir: string = defaultProfilesDir()): CategoryTable {
  let conceptMap: ConceptMap | undefined;
  let counting: ValueSet | undefined;
  let codeSystem: CodeSystem | undefined;
  for (const file of readdirSync(profilesDir).filter((f) => f.endsWith('.json')).sort()) {
    let res: { resourceType?: string; url?: string };
    try {
      res = JSON.parse(readFileSync(join(profilesDir, file), 'utf8')) as typeof res;
    } catch {
      continue; // not ours to judge: the validator reports broken files
    }
    if (res.resourceType === 'ConceptMap' && res.url === CATEGORY_MAP_URL) conceptMap = res as ConceptMap;
    else if (res.resourceType === 'ValueSet' && res.url === COUNTING_VALUESET_URL) counting = res as ValueSet;
    else if (res.resourceType === 'CodeSystem' && res.url === CATEGORY_SYSTEM) codeSystem = res as CodeSystem;
  }
  if (!conceptMap) throw new Error(`${profilesDir}: no ConceptMap ${CATEGORY_MAP_URL}`);
  if (!counting) throw new Error(`${profilesDir}: no ValueSet ${COUNTING_VALUESET_URL}`);
  return categoryTableFrom(conceptMap, counting, codeSystem);
}
