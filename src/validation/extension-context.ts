import type { StructureDefinition } from 'fhir/r4.js';

/**
 * Where an extension sits: the element that holds it, named as StructureDefinition.context
 * names elements (extensibility.html#context). `paths` are its element paths without indexes:
 * from its resource (`Patient.name`) and, inside a data type, from that type (`HumanName.family`);
 * `types` its type and the types that type specialises (`Age`, `Quantity`, `Element`); `url`
 * the holder's own url when the holder is itself an extension.
 */
export interface ExtensionHolder {
  paths: readonly string[];
  types: readonly string[];
  url?: string;
}

/** Contexts that take an extension anywhere. */
const ANYWHERE = new Set(['Element', 'Base']);

/**
 * Whether an extension's definition allows it on `holder`: some `element` context names the
 * holder's path or one of its types, or an `extension` context names the holder's url. A
 * `fhirpath` context is not evaluated here and allows it, as does a definition without contexts
 * (there is then nothing to go by).
 */
export function contextAllows(sd: StructureDefinition, holder: ExtensionHolder): boolean {
  const contexts = sd.context ?? [];
  if (!contexts.length) return true;
  for (const c of contexts) {
    const expression = c.expression ?? '';
    if (c.type === 'fhirpath') return true;
    if (c.type === 'extension') {
      // An extension url, perhaps with '#' and the path of one of its inner extensions.
      if (holder.url !== undefined && (expression === holder.url || expression.startsWith(`${holder.url}#`))) return true;
      continue;
    }
    const element = elementOf(expression);
    if (ANYWHERE.has(element) || holder.types.includes(element) || holder.paths.includes(element)) return true;
  }
  return false;
}

/**
 * An `element` context as a path: an ElementDefinition.id, perhaps `[url]#[id]` for an element of
 * a profile, perhaps with slice names (extension-context-type: "includes ElementDefinition Ids
 * that have slicing identifiers"). Slices and the profile are not told apart here: the element
 * path they constrain is taken, which allows the extension on every slice of it.
 */
function elementOf(expression: string): string {
  const id = expression.slice(expression.lastIndexOf('#') + 1);
  return id.replace(/:[^.]*/g, '').replace(/\[x\]/g, '');
}

/** The contexts of a definition as the Java validator lists them: `e:Patient; x:http://...`. */
export function describeContexts(sd: StructureDefinition): string {
  return (sd.context ?? []).map((c) => `${c.type === 'extension' ? 'x' : c.type === 'fhirpath' ? 'f' : 'e'}:${c.expression}`).join('; ');
}

/** An instance path as an element path: no indexes, no `.ofType(T)` of choice elements. */
export function elementPath(instancePath: string): string {
  return instancePath.replace(/\[\d+\]/g, '').replace(/\.ofType\([A-Za-z]+\)/g, '');
}
