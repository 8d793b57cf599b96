import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, Resource } from 'fhir/r4.js';
import { r4PackageDir } from './package-dir.js';

/** Parsed bundles, held weakly: parsing Bundle-resources.json costs ~150 MB of short-lived heap. */
const parsed = new Map<string, WeakRef<Resource[]>>();

/**
 * The resources of one Bundle file of the official R4 package. The server's definitions and the
 * validator both read Bundle-resources.json at start-up; the second reader gets the first one's
 * parse while it is still alive, instead of a second 35 MB parse on top of it. Readers may slim
 * what they keep (delete documentation keys) but must not remove what other readers use.
 */
export function readR4Bundle(file: string): Resource[] {
  const hit = parsed.get(file)?.deref();
  if (hit) return hit;
  const bundle = JSON.parse(readFileSync(join(r4PackageDir(), file), 'utf8')) as Bundle;
  const resources = (bundle.entry ?? []).map((e) => e.resource).filter((r): r is Resource => !!r);
  parsed.set(file, new WeakRef(resources));
  return resources;
}
