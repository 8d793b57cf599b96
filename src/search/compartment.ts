import { badRequest } from '../fhir/errors.js';
import { compartmentFilter, compartmentParams } from '../fhir/compartment-definitions.js';
import type { Filter } from '../store/port.js';

/**
 * Compartment search (`Patient/1/Condition`): a resource is in the compartment when one of
 * the parameters the CompartmentDefinition lists for its type references the compartment's
 * owner; the owner itself is in its own compartment.
 */
export class Compartments {
  private paramsFor(compartment: string): ReadonlyMap<string, string[]> {
    const map = compartmentParams(compartment);
    if (!map) throw badRequest(`Unknown compartment '${compartment}'`, 'not-supported');
    return map;
  }

  /** Types that can be in the compartment (for `Patient/1/*`). */
  typesIn(compartment: string): string[] {
    return [...this.paramsFor(compartment)].filter(([t, params]) => params.length > 0 || t === compartment).map(([t]) => t);
  }

  filter(compartment: string, id: string, type: string): Filter {
    const map = this.paramsFor(compartment);
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) throw badRequest(`Invalid compartment id`, 'value');
    const f = compartmentFilter(compartment, map, [id], type);
    if (!f) throw badRequest(`Resource type '${type}' is not in the ${compartment} compartment`, 'not-supported');
    return f;
  }
}
