import type { Resource, StructureDefinition } from 'fhir/r4.js';
import { badRequest, type FhirError } from '../fhir/errors.js';
import { carryTexts } from '../fhir/json-decimals.js';

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

/**
 * One level of a resource for _summary=true: the resource itself or one of its backbone elements.
 * Datatype values are kept whole, as ElementDefinition.isSummary says ("other than
 * Attachment.data, all data type properties are included in the summary form").
 */
interface SummaryLevel {
  summary: Set<string>;
  choices: Set<string>;
  /** Backbone elements by name: their own elements are summarised in turn. */
  backbones: Map<string, SummaryLevel>;
  /** Elements typed Attachment, whose `data` is left out. */
  attachments: Set<string>;
}

const newLevel = (): SummaryLevel => ({ summary: new Set(), choices: new Set(), backbones: new Map(), attachments: new Set() });

export class ElementFilter {
  private readonly cache = new Map<string, TypeElements>();
  private readonly levels = new Map<string, SummaryLevel>();

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

  /** The summary levels of a type, from its snapshot: backbone elements nest, contentReference reuses a level. */
  private summaryLevel(type: string): SummaryLevel {
    let root = this.levels.get(type);
    if (root) return root;
    root = newLevel();
    const byPath = new Map<string, SummaryLevel>([[type, root]]);
    const references: Array<[SummaryLevel, string, string]> = [];
    for (const el of this.definitions.get(type)?.snapshot?.element ?? []) {
      const cut = el.path.lastIndexOf('.');
      if (cut < 0 || el.sliceName) continue;
      const parent = byPath.get(el.path.slice(0, cut));
      if (!parent) continue;
      let name = el.path.slice(cut + 1);
      if (name.endsWith('[x]')) {
        name = name.slice(0, -3);
        parent.choices.add(name);
      }
      if (el.isSummary) parent.summary.add(name);
      const codes = (el.type ?? []).map((t) => t.code);
      if (el.contentReference) references.push([parent, name, el.contentReference.slice(el.contentReference.indexOf('#') + 1)]);
      else if (codes.length === 1 && (codes[0] === 'BackboneElement' || codes[0] === 'Element')) {
        const level = newLevel();
        byPath.set(el.path, level);
        parent.backbones.set(name, level);
      } else if (codes.length === 1 && codes[0] === 'Attachment') parent.attachments.add(name);
    }
    for (const [parent, name, path] of references) {
      const level = byPath.get(path);
      if (level) parent.backbones.set(name, level);
    }
    this.levels.set(type, root);
    return root;
  }

  /** search.html#summary, _summary=true: only summary elements, at every level of the resource. */
  private summarise(node: Record<string, unknown>, level: SummaryLevel, root: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      const key = k.startsWith('_') ? k.slice(1) : k;
      if (root && ALWAYS.includes(k)) {
        out[k] = v;
        continue;
      }
      const stem = stemOf(level.choices, key);
      if (!level.summary.has(stem)) continue;
      const inner = level.backbones.get(stem);
      if (inner && !k.startsWith('_')) out[k] = mapItems(v, (item) => this.summarise(item, inner, false));
      else if (level.attachments.has(stem) && !k.startsWith('_')) out[k] = mapItems(v, ({ data: _data, _data: _ext, ...rest }) => rest);
      else out[k] = v;
    }
    carryTexts(node, out);
    return out;
  }

  /** The stem of a JSON key (`valueQuantity` → `value`, `_birthDate` → `birthDate`). */
  private stem(te: TypeElements, key: string): string {
    return stemOf(te.choices, key.startsWith('_') ? key.slice(1) : key);
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
    if (summary === 'true' && !elements) return subsetted(this.summarise(resource as unknown as Record<string, unknown>, this.summaryLevel(resource.resourceType), true), resource);
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
    carryTexts(resource, out);
    return subsetted(out, resource);
  }
}

/** The subset, tagged SUBSETTED in its meta (search.html#summary). */
function subsetted(out: Record<string, unknown>, resource: Resource): Resource {
  const meta = { ...(resource.meta ?? {}) };
  meta.tag = [...(meta.tag ?? []).filter((t) => t.code !== SUBSETTED.code), SUBSETTED];
  out.meta = meta;
  return out as unknown as Resource;
}

function stemOf(choices: ReadonlySet<string>, key: string): string {
  for (const c of choices) if (key.startsWith(c) && /^[A-Z]/.test(key.slice(c.length))) return c;
  return key;
}

/** f over an element's value: each item of an array, or the one object. */
function mapItems(v: unknown, f: (item: Record<string, unknown>) => Record<string, unknown>): unknown {
  const one = (x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? f(x as Record<string, unknown>) : x);
  if (!Array.isArray(v)) return one(v);
  const out = v.map(one);
  carryTexts(v, out);
  return out;
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
