import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Resource } from 'fhir/r4.js';
import { readTar } from './tar.js';

/** The conformance resource types a FHIR package contributes to validation and search (an ImplementationGuide for its `global` profiles). */
const CONFORMANCE_TYPES = new Set(['StructureDefinition', 'ValueSet', 'CodeSystem', 'SearchParameter', 'ImplementationGuide']);

export interface FhirPackage {
  /** `name#version` from package/package.json, or the file name when it has none. */
  id: string;
  resources: Resource[];
}

function isConformance(value: unknown): value is Resource {
  return (
    typeof value === 'object' &&
    value !== null &&
    CONFORMANCE_TYPES.has((value as { resourceType?: string }).resourceType ?? '')
  );
}

function packageId(manifest: unknown, fallback: string): string {
  const m = manifest as { name?: string; version?: string } | undefined;
  return m?.name ? `${m.name}#${m.version ?? ''}` : fallback;
}

/** Only top-level `package/*.json` files hold the package's resources (examples live in sub-folders). */
function isTopLevelJson(name: string): boolean {
  const rel = name.replace(/^\.?\//, '');
  return /^package\/[^/]+\.json$/.test(rel) && !rel.endsWith('/package.json') && !rel.endsWith('/.index.json');
}

function parse(text: Buffer | string, where: string): unknown {
  try {
    return JSON.parse(text.toString());
  } catch (err) {
    throw new Error(`FHIR package file ${where} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Loads a FHIR package from a `.tgz` or from a folder holding `package/*.json` (or the `package` folder itself). */
export function loadPackage(path: string): FhirPackage {
  if (statSync(path).isDirectory()) {
    const dir = existsSync(join(path, 'package')) ? join(path, 'package') : path;
    const manifestPath = join(dir, 'package.json');
    const manifest = existsSync(manifestPath) ? parse(readFileSync(manifestPath), manifestPath) : undefined;
    const resources: Resource[] = [];
    for (const file of readdirSync(dir).sort()) {
      if (!file.endsWith('.json') || file === 'package.json' || file === '.index.json') continue;
      const value = parse(readFileSync(join(dir, file)), join(dir, file));
      if (isConformance(value)) resources.push(value);
    }
    return { id: packageId(manifest, basename(path)), resources };
  }
  let manifest: unknown;
  const resources: Resource[] = [];
  for (const entry of readTar(readFileSync(path))) {
    const rel = entry.name.replace(/^\.?\//, '');
    if (rel === 'package/package.json') manifest = parse(entry.data, `${path}:${rel}`);
    if (!isTopLevelJson(rel)) continue;
    const value = parse(entry.data, `${path}:${rel}`);
    if (isConformance(value)) resources.push(value);
  }
  return { id: packageId(manifest, basename(path)), resources };
}

/**
 * Loads every conformance resource (`*.json` StructureDefinition/ValueSet/CodeSystem/SearchParameter/
 * ImplementationGuide, or a Bundle of them) found directly in a folder such as `profiles/`.
 */
export function loadProfileDir(dir: string): Resource[] {
  if (!existsSync(dir)) return [];
  const out: Resource[] = [];
  for (const file of readdirSync(dir).sort()) {
    const full = join(dir, file);
    if (!file.endsWith('.json') || !statSync(full).isFile()) continue;
    const value = parse(readFileSync(full), full);
    if (isConformance(value)) out.push(value);
    else if ((value as { resourceType?: string })?.resourceType === 'Bundle') {
      for (const e of (value as { entry?: { resource?: unknown }[] }).entry ?? []) if (isConformance(e.resource)) out.push(e.resource);
    }
  }
  return out;
}
