import type { Resource, StructureDefinition } from 'fhir/r4.js';
import { badRequest, type FhirError } from '../fhir/errors.js';

/**
 * _summary and _elements: which top-level elements of a resource are returned. The summary
 * flags and cardinalities come from the R4 StructureDefinitions.
 */
export type SummaryMode = 'true' | 'false' | 'text' | 'data' | 'count';
const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };
const ALWAYS = ['resourceType', 'id', 'meta'];

interface TypeElements {
  /** Every top-level element, choices by their stem (`value`). */
  all: Set<string>;
  summary: Set<string>;
  mandatory: Set<string>;
  /** Choice elements (`value[x]`) by their stem. */
  choices: Set<string>;
}

export class ElementFilter {
  private readonly cache = new Map<string, TypeElements>();

  constructor(private readonly definitions: ReadonlyMap<string, StructureDefinition>) {}

  private elements(type: string): TypeElements {
    let te = this.cache.get(type);
    if (te) return te;
    te = { all: new Set(), summary: new Set(), mandatory: new Set(), choices: new Set() };
    for (const el of this.definitions.get(type)?.snapshot?.element ?? []) {
      const parts = el.path.split('.');
      if (parts.length !== 2) continue;
      let name = parts[1];
      if (name.endsWith('[x]')) {
        name = name.slice(0, -3);
        te.choices.add(name);
      }
      te.all.add(name);
      if (el.isSummary) te.summary.add(name);
      if ((el.min ?? 0) > 0) te.mandatory.add(name);
    }
    this.cache.set(type, te);
    return te;
  }

  /** The stem of a JSON key (`valueQuantity` → `value`, `_birthDate` → `birthDate`). */
  private stem(te: TypeElements, key: string): string {
    const k = key.startsWith('_') ? key.slice(1) : key;
    for (const c of te.choices) if (k.startsWith(c) && /^[A-Z]/.test(k.slice(c.length))) return c;
    return k;
  }

  /**
   * The element names none of the types has (a choice counts by its stem, `deceased`, or by a
   * typed name, `deceasedBoolean`): an _elements list naming one would silently subset it away.
   */
  unknown(types: readonly string[], names: readonly string[]): string[] {
    const tes = types.map((t) => this.elements(t));
    return names.filter((n) => !tes.some((te) => te.all.has(n) || te.choices.has(this.stem(te, n))));
  }

  apply(resource: Resource, summary: SummaryMode | undefined, elements: readonly string[] | undefined): Resource {
    if ((!summary || summary === 'false' || summary === 'count') && !elements) return resource;
    const te = this.elements(resource.resourceType);
    let keep: (stem: string, key: string) => boolean;
    if (elements) {
      const wanted = new Set(elements);
      // A choice is asked for by its stem (deceased) or by the typed name its JSON key has (deceasedBoolean).
      keep = (s, key) => wanted.has(s) || wanted.has(key) || te.mandatory.has(s);
    } else if (summary === 'true') keep = (s) => te.summary.has(s);
    else if (summary === 'text') keep = (s) => s === 'text' || te.mandatory.has(s);
    else keep = (s) => s !== 'text'; // data
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(resource)) {
      if (ALWAYS.includes(k) || keep(this.stem(te, k), k.startsWith('_') ? k.slice(1) : k)) out[k] = v;
    }
    const meta = { ...(resource.meta ?? {}) };
    meta.tag = [...(meta.tag ?? []).filter((t) => t.code !== SUBSETTED.code), SUBSETTED];
    out.meta = meta;
    return out as unknown as Resource;
  }
}

export function parseSummary(value: string | undefined): SummaryMode | undefined {
  if (value === undefined) return undefined;
  if (['true', 'false', 'text', 'data', 'count'].includes(value)) return value as SummaryMode;
  throw badRequest(`Invalid _summary value '${value}'`, 'value');
}

export function parseElements(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const list = value.split(',').map((s) => s.trim());
  if (list.some((e) => !e)) throw badRequest(`Invalid _elements value '${value.slice(0, 100)}': an empty element name`, 'value');
  // `Patient.name` is allowed too (only the element name matters at the top level), and `value[x]` means `value`.
  return list.map((e) => (e.includes('.') ? e.slice(e.indexOf('.') + 1) : e).replace(/\[x\]$/, ''));
}

/** A 400 naming the elements of an _elements list that none of `types` has. */
export function assertKnownElements(filter: ElementFilter, types: readonly string[], names: readonly string[] | undefined): void {
  const unknown = names ? filter.unknown(types, names) : [];
  if (unknown.length) throw unknownElements(types, unknown);
}

export function unknownElements(types: readonly string[], unknown: readonly string[]): FhirError {
  const list = unknown.map((n) => `'${n.slice(0, 64)}'`).join(', ');
  return badRequest(`_elements: ${types.length === 1 ? types[0] : 'none of the types searched'} has no element ${list}`, 'value');
}
