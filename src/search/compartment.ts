import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CompartmentDefinition } from 'fhir/r4.js';
import { badRequest } from '../fhir/errors.js';
import { r4PackageDir } from '../fhir/package-dir.js';
import type { Filter } from '../store/port.js';

/**
 * Compartment search (`Patient/1/Condition`): a resource is in the compartment when one of
 * the parameters the CompartmentDefinition lists for its type references the compartment's
 * owner; the owner itself is in its own compartment.
 */
export class Compartments {
  private readonly defs = new Map<string, Map<string, string[]> | null>();

  private paramsFor(compartment: string): Map<string, string[]> | null {
    if (this.defs.has(compartment)) return this.defs.get(compartment)!;
    let map: Map<string, string[]> | null = null;
    if (/^[A-Z][A-Za-z]+$/.test(compartment)) {
      const file = join(r4PackageDir(), `CompartmentDefinition-${compartment[0].toLowerCase()}${compartment.slice(1)}.json`);
      if (existsSync(file)) {
        const def = JSON.parse(readFileSync(file, 'utf8')) as CompartmentDefinition;
        map = new Map((def.resource ?? []).map((r) => [r.code, (r.param ?? []).filter((p) => p !== '{def}')]));
      }
    }
    this.defs.set(compartment, map);
    return map;
  }

  /** Types that can be in the compartment (for `Patient/1/*`). */
  typesIn(compartment: string): string[] {
    const map = this.paramsFor(compartment);
    if (!map) throw badRequest(`Unknown compartment '${compartment}'`, 'not-supported');
    return [...map].filter(([t, params]) => params.length > 0 || t === compartment).map(([t]) => t);
  }

  filter(compartment: string, id: string, type: string): Filter {
    const map = this.paramsFor(compartment);
    if (!map) throw badRequest(`Unknown compartment '${compartment}'`, 'not-supported');
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) throw badRequest(`Invalid compartment id`, 'value');
    const params = map.get(type) ?? [];
    const ref = `${compartment}/${id}`;
    const alternatives: Filter[] = [];
    if (type === compartment) alternatives.push({ id });
    if (params.length) alternatives.push({ 'idx.ref': { $elemMatch: { p: params.length === 1 ? params[0] : { $in: params }, r: ref } } });
    if (alternatives.length === 0) throw badRequest(`Resource type '${type}' is not in the ${compartment} compartment`, 'not-supported');
    return alternatives.length === 1 ? alternatives[0] : { $or: alternatives };
  }
}
