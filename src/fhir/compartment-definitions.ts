import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CompartmentDefinition } from 'fhir/r4.js';
import type { Filter } from '../store/port.js';
import { r4PackageDir } from './package-dir.js';

/** Per compartment kind: for each resource type, the search parameters that put it in a compartment. */
const cache = new Map<string, ReadonlyMap<string, string[]> | undefined>();

/**
 * The R4 CompartmentDefinition of a compartment kind (Patient, Encounter, RelatedPerson,
 * Practitioner, Device) as resource type → parameters ('{def}' dropped); undefined for an unknown kind.
 */
export function compartmentParams(compartment: string): ReadonlyMap<string, string[]> | undefined {
  if (cache.has(compartment)) return cache.get(compartment);
  let map: Map<string, string[]> | undefined;
  if (/^[A-Z][A-Za-z]+$/.test(compartment)) {
    const file = join(r4PackageDir(), `CompartmentDefinition-${compartment[0].toLowerCase()}${compartment.slice(1)}.json`);
    if (existsSync(file)) {
      const def = JSON.parse(readFileSync(file, 'utf8')) as CompartmentDefinition;
      map = new Map((def.resource ?? []).map((r) => [r.code, (r.param ?? []).filter((p) => p !== '{def}')]));
    }
  }
  cache.set(compartment, map);
  return map;
}

/**
 * Query filter for resources of `type` in the compartment of any of `owners` (ids): the owner
 * itself, or a resource one of whose compartment parameters references an owner. Undefined when
 * no resource of the type can be in such a compartment.
 */
export function compartmentFilter(compartment: string, params: ReadonlyMap<string, string[]>, owners: readonly string[], type: string): Filter | undefined {
  if (owners.length === 0) return undefined;
  const list = params.get(type) ?? [];
  const one = <T>(xs: readonly T[]) => (xs.length === 1 ? xs[0] : { $in: xs });
  const alternatives: Filter[] = [];
  if (type === compartment) alternatives.push({ id: one(owners) });
  if (list.length) alternatives.push({ 'idx.ref': { $elemMatch: { p: one(list), r: one(owners.map((o) => `${compartment}/${o}`)) } } });
  if (alternatives.length === 0) return undefined;
  return alternatives.length === 1 ? alternatives[0] : { $or: alternatives };
}
