import type { ElementDefinition, StructureDefinition } from 'fhir/r4.js';
import { capitalize, lastSegment } from './elements.js';
import type { DefinitionRegistry } from './registry.js';

/**
 * Generates a snapshot for a StructureDefinition that only has a differential (common for
 * hand-written profiles): the base snapshot, with data types expanded where the differential
 * reaches into them, slices added where it names them, and the differential's properties laid over.
 * A pragmatic subset of the spec's snapshot algorithm: enough for cardinality, fixed/pattern,
 * bindings, types, slicing, min/max values and constraints.
 */
export function ensureSnapshot(sd: StructureDefinition, registry: DefinitionRegistry, depth = 0): boolean {
  if (sd.snapshot?.element?.length) return true;
  if (!sd.differential?.element?.length || !sd.baseDefinition || depth > 10) return false;
  const base = registry.structures.get(sd.baseDefinition);
  if (!base || !ensureSnapshot(base, registry, depth + 1)) return false;
  const elements: ElementDefinition[] = base.snapshot!.element.map((e) => ({ ...e, id: e.id ?? e.path }));
  const gen = new Generator(elements, registry);
  for (const d of sd.differential.element) gen.apply(d);
  sd.snapshot = { element: gen.elements };
  return true;
}

/** Differential element ids, synthesised from path and sliceName where missing. */
function diffId(d: ElementDefinition, previous: Map<string, string>): string {
  if (d.id) return d.id;
  let id = d.path;
  for (const [path, sliceId] of previous) if (d.path.startsWith(`${path}.`)) id = sliceId + d.path.slice(path.length);
  if (d.sliceName) {
    id = `${id}:${d.sliceName}`;
    previous.set(d.path, id);
  }
  return id;
}

const MERGE_SKIP = new Set(['id', 'path', 'sliceName', 'base']);

class Generator {
  private readonly sliceIds = new Map<string, string>();
  /** Elements as they were before the differential: new slices start from these, not from the constrained element. */
  private readonly original = new Map<string, ElementDefinition>();

  constructor(
    readonly elements: ElementDefinition[],
    private readonly registry: DefinitionRegistry,
  ) {
    for (const e of elements) this.original.set(e.id as string, e);
  }

  apply(d: ElementDefinition): void {
    const id = diffId(d, this.sliceIds);
    const idx = this.locate(id, d);
    if (idx < 0) return;
    const target = { ...this.elements[idx] };
    for (const [key, value] of Object.entries(d)) {
      if (MERGE_SKIP.has(key)) continue;
      if (key === 'constraint') {
        const existing = target.constraint ?? [];
        const added = (value as NonNullable<ElementDefinition['constraint']>).filter((c) => !existing.some((e) => e.key === c.key));
        target.constraint = [...existing, ...added];
      } else if (key.startsWith('fixed') || key.startsWith('pattern')) {
        for (const k of Object.keys(target)) if (k.startsWith('fixed') || k.startsWith('pattern')) delete (target as Record<string, unknown>)[k];
        (target as Record<string, unknown>)[key] = value;
      } else {
        (target as Record<string, unknown>)[key] = value;
      }
    }
    if (d.sliceName) target.sliceName = d.sliceName;
    this.elements[idx] = target;
  }

  private indexOf(id: string): number {
    return this.elements.findIndex((e) => e.id === id);
  }

  /** Finds (or makes, by expanding types and adding slices) the element a differential entry addresses. */
  private locate(id: string, d?: ElementDefinition): number {
    let idx = this.indexOf(id);
    if (idx >= 0) return idx;
    const dot = id.lastIndexOf('.');
    if (dot < 0) return -1;
    const parentId = id.slice(0, dot);
    let last = id.slice(dot + 1);
    const parentIdx = this.locate(parentId);
    if (parentIdx < 0) return -1;
    this.expandChildren(parentIdx);
    idx = this.indexOf(id);
    if (idx >= 0) return idx;
    const colon = last.indexOf(':');
    if (colon >= 0) {
      const slicedIdx = this.locate(`${parentId}.${last.slice(0, colon)}`);
      if (slicedIdx < 0) return -1;
      return this.addSlice(slicedIdx, last.slice(colon + 1));
    }
    // `valueQuantity` in a differential addresses `value[x]`, narrowed to Quantity.
    const choice = this.elements.find(
      (e) => e.id?.startsWith(`${parentId}.`) && e.id.slice(parentId.length + 1).endsWith('[x]') && last.startsWith(lastSegment(e.path).slice(0, -3)),
    );
    if (choice) {
      const baseName = lastSegment(choice.path).slice(0, -3);
      const typeName = last.slice(baseName.length);
      const type = choice.type?.find((t) => capitalize(t.code) === typeName);
      if (type) {
        last = `${baseName}[x]`;
        const i = this.indexOf(`${parentId}.${last}`);
        if (i >= 0 && d && !d.type) this.elements[i] = { ...this.elements[i], type: [type] };
        return i;
      }
    }
    return -1;
  }

  /** Gives an element without children the children of its (single) data type. */
  private expandChildren(idx: number): void {
    const el = this.elements[idx];
    const id = el.id as string;
    if (this.elements[idx + 1]?.id?.startsWith(`${id}.`)) return;
    let source: ElementDefinition[] | undefined;
    let sourceRoot: string;
    if (el.contentReference) {
      sourceRoot = el.contentReference.slice(el.contentReference.indexOf('#') + 1);
      source = this.elements.filter((e) => e.id?.startsWith(`${sourceRoot}.`) && !e.id.includes(':'));
    } else {
      const types = el.type ?? [];
      if (types.length !== 1) return;
      const typeSd = types[0].profile?.[0]
        ? this.registry.structures.get(types[0].profile[0]) ?? this.registry.baseByType.get(types[0].code)
        : this.registry.baseByType.get(types[0].code);
      if (!typeSd || !ensureSnapshot(typeSd, this.registry)) return;
      sourceRoot = typeSd.snapshot!.element[0].id ?? typeSd.type;
      source = typeSd.snapshot!.element.slice(1);
    }
    const children = source.map((e) => {
      const rest = (e.id ?? e.path).slice(sourceRoot.length);
      const pathRest = e.path.slice(e.path.indexOf('.'));
      return { ...e, id: id + rest, path: el.path + (el.contentReference ? e.path.slice(sourceRoot.length) : pathRest) };
    });
    for (const c of children) if (!this.original.has(c.id)) this.original.set(c.id, c);
    this.elements.splice(idx + 1, 0, ...children);
  }

  /** Adds a slice after the sliced element's subtree and earlier slices, with copies of its children. */
  private addSlice(slicedIdx: number, sliceName: string): number {
    const sliced = this.elements[slicedIdx];
    const slicedId = sliced.id as string;
    let end = slicedIdx + 1;
    while (end < this.elements.length) {
      const eid = this.elements[end].id ?? '';
      if (!eid.startsWith(`${slicedId}.`) && !eid.startsWith(`${slicedId}:`)) break;
      end++;
    }
    const sliceId = `${slicedId}:${sliceName}`;
    const slice: ElementDefinition = { ...(this.original.get(slicedId) ?? sliced), id: sliceId, sliceName };
    delete slice.slicing;
    const children = this.elements
      .slice(slicedIdx + 1, end)
      .filter((e) => e.id?.startsWith(`${slicedId}.`))
      .map((e) => ({ ...e, id: sliceId + (e.id as string).slice(slicedId.length) }));
    this.elements.splice(end, 0, slice, ...children);
    return end;
  }
}
