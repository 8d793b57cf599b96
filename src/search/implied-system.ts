import type { Definitions } from '../fhir/definitions.js';
import type { Terminology } from './terminology.js';

/**
 * The code system a `code` element implies: an element of type code bound (required) to a value
 * set whose codes all come from one system, e.g. Patient.gender → administrative-gender.
 * search.html: for such elements `[parameter]=[system]|[code]` must match the implied system.
 */
export function impliedSystemOf(defs: Definitions, terminology: Terminology): (expression: string | undefined) => string | undefined {
  const cache = new Map<string, string | undefined>();
  return (expression) => {
    const path = expression?.trim();
    if (!path || !/^[A-Z][A-Za-z]*(\.[a-z][A-Za-z0-9]*)+$/.test(path)) return undefined;
    if (cache.has(path)) return cache.get(path);
    const type = path.split('.')[0];
    const el = defs.resourceDefinitions.get(type)?.snapshot?.element.find((e) => e.path === path);
    let system: string | undefined;
    if (el && el.type?.length === 1 && el.type[0].code === 'code' && el.binding?.strength === 'required' && el.binding.valueSet) {
      const codes = terminology.expand(el.binding.valueSet);
      if (codes && codes.size === 1) system = [...codes.keys()][0];
    }
    cache.set(path, system);
    return system;
  };
}
