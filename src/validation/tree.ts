import type { ElementDefinition, StructureDefinition } from 'fhir/r4.js';
import { capitalize, isChoice, lastSegment, maxOf, typeCode } from './elements.js';
import type { DefinitionRegistry } from './registry.js';

export interface TypeRef {
  code: string;
  /** Profiles the value must conform to (extension definitions for Extension). */
  profiles: string[];
  /** Allowed reference targets (canonical URLs); empty = any. */
  targetProfiles: string[];
}

export interface Slicing {
  discriminators: { type: string; path: string }[];
  rules: 'closed' | 'open' | 'openAtEnd';
  ordered: boolean;
}

/** One ElementDefinition of a snapshot, linked to its children and slices. */
export interface ElementNode {
  ed: ElementDefinition;
  id: string;
  path: string;
  /** Element name without [x], e.g. `value` for `value[x]`. */
  name: string;
  choice: boolean;
  min: number;
  max: number;
  types: TypeRef[];
  children: ElementNode[];
  slicing?: Slicing;
  slices: ElementNode[];
  sliceName?: string;
  /** `fixedCode` -> value, `patternCodeableConcept` -> value. */
  fixed?: unknown;
  pattern?: unknown;
}

/** A StructureDefinition's snapshot as a tree, built once. */
export interface DefinitionTree {
  sd: StructureDefinition;
  url: string;
  type: string;
  root: ElementNode;
  /** True for the base definition of a type (checks already covered by the schema are skipped). */
  isBase: boolean;
}

function firstKey(ed: ElementDefinition, prefix: 'fixed' | 'pattern'): unknown {
  for (const key in ed) if (key.startsWith(prefix)) return (ed as unknown as Record<string, unknown>)[key];
  return undefined;
}

function makeNode(ed: ElementDefinition, id: string): ElementNode {
  const last = lastSegment(ed.path);
  return {
    ed,
    id,
    path: ed.path,
    name: isChoice(last) ? last.slice(0, -3) : last,
    choice: isChoice(last),
    min: ed.min ?? 0,
    max: maxOf(ed.max),
    types: (ed.type ?? []).map((t) => ({
      code: typeCode(t),
      profiles: t.profile ?? [],
      targetProfiles: t.targetProfile ?? [],
    })),
    children: [],
    slices: [],
    sliceName: ed.sliceName,
    fixed: firstKey(ed, 'fixed'),
    pattern: firstKey(ed, 'pattern'),
    slicing: ed.slicing
      ? {
          discriminators: (ed.slicing.discriminator ?? []).map((d) => ({ type: d.type, path: d.path })),
          rules: ed.slicing.rules,
          ordered: ed.slicing.ordered ?? false,
        }
      : undefined,
  };
}

/** Synthesises element ids for snapshots that lack them (slice children follow their slice). */
function elementIds(elements: ElementDefinition[]): string[] {
  const ids: string[] = [];
  const sliceAt = new Map<string, string>();
  for (const el of elements) {
    if (el.id) {
      ids.push(el.id);
      continue;
    }
    let id = el.path;
    for (const [path, slicedId] of sliceAt) {
      if (el.path.startsWith(`${path}.`)) id = slicedId + el.path.slice(path.length);
    }
    if (el.sliceName) {
      id = `${id}:${el.sliceName}`;
      sliceAt.set(el.path, id);
    }
    ids.push(id);
  }
  return ids;
}

export function buildTree(sd: StructureDefinition, registry: DefinitionRegistry): DefinitionTree | undefined {
  const elements = sd.snapshot?.element;
  if (!elements?.length) return undefined;
  const ids = elementIds(elements);
  const byId = new Map<string, ElementNode>();
  let root: ElementNode | undefined;
  elements.forEach((ed, i) => {
    const id = ids[i];
    const node = makeNode(ed, id);
    byId.set(id, node);
    if (!root) {
      root = node;
      return;
    }
    const dot = id.lastIndexOf('.');
    const parentId = dot < 0 ? '' : id.slice(0, dot);
    const lastPart = id.slice(dot + 1);
    const colon = lastPart.indexOf(':');
    if (colon >= 0 && ed.sliceName) {
      const slicedId = `${parentId}.${lastPart.slice(0, colon)}`;
      const sliced = byId.get(slicedId) ?? byId.get(slicedId.replace(/\[x\]$/, ''));
      if (sliced) {
        sliced.slices.push(node);
        return;
      }
    }
    const parent = byId.get(parentId);
    if (parent) parent.children.push(node);
  });
  if (!root) return undefined;
  return {
    sd,
    url: sd.url,
    type: sd.type,
    root,
    isBase: registry.baseByType.get(sd.type) === sd,
  };
}

/** The JSON property name of a choice element for a type: value + Quantity. */
export function choiceProp(node: ElementNode, type: string): string {
  return node.name + capitalize(type);
}
