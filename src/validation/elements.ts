import type { ElementDefinition, StructureDefinition } from 'fhir/r4.js';

const FHIR_TYPE_EXT = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';

/** The FHIR type code of an element type (System.String ids and urls carry theirs in an extension). */
export function typeCode(t: NonNullable<ElementDefinition['type']>[number]): string {
  const ext = t.extension?.find((e) => e.url === FHIR_TYPE_EXT)?.valueUrl;
  return ext ?? t.code;
}

export function lastSegment(path: string): string {
  return path.slice(path.lastIndexOf('.') + 1);
}

export function isChoice(name: string): boolean {
  return name.endsWith('[x]');
}

export function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Elements of a base (unsliced) snapshot grouped by parent path. */
export function childrenByPath(sd: StructureDefinition): Map<string, ElementDefinition[]> {
  const map = new Map<string, ElementDefinition[]>();
  for (const el of sd.snapshot?.element ?? []) {
    if (el.sliceName) continue;
    const dot = el.path.lastIndexOf('.');
    if (dot < 0) continue;
    const parent = el.path.slice(0, dot);
    let list = map.get(parent);
    if (!list) map.set(parent, (list = []));
    list.push(el);
  }
  return map;
}

/** The JSON property names of an element: `value[x]` expands to valueString, valueQuantity, ... */
export function propertyNames(el: ElementDefinition): { prop: string; type: string }[] {
  const name = lastSegment(el.path);
  const types = el.type ?? [];
  if (isChoice(name)) {
    const base = name.slice(0, -3);
    return types.map((t) => ({ prop: base + capitalize(typeCode(t)), type: typeCode(t) }));
  }
  return [{ prop: name, type: types.length ? typeCode(types[0]) : '' }];
}

/** The FHIRPath step for a JSON property: choice properties read `value.ofType(Quantity)`. */
export function pathStep(el: ElementDefinition, prop: string, type: string): string {
  const name = lastSegment(el.path);
  return isChoice(name) ? `${name.slice(0, -3)}.ofType(${type})` : prop;
}

export function maxOf(max: string | undefined): number {
  return max === undefined || max === '*' ? Infinity : Number(max);
}
