import type { Coding, Resource } from 'fhir/r4.js';
import { badRequest } from '../fhir/errors.js';
import type { Definitions } from '../fhir/definitions.js';

/** search.html#summary and #elements, applied to one resource. */
export type SummaryMode = 'true' | 'text' | 'data' | 'count' | 'false';

const SUBSETTED: Coding = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED', display: 'subsetted' };

interface TypeElements {
  summary: Set<string>;
  mandatory: Set<string>;
  /** Choice elements by prefix ('value' for value[x]). */
  choiceSummary: string[];
  choiceMandatory: string[];
}

const cache = new WeakMap<Definitions, Map<string, TypeElements>>();

function elementsOf(defs: Definitions, type: string): TypeElements {
  let byType = cache.get(defs);
  if (!byType) cache.set(defs, (byType = new Map()));
  let te = byType.get(type);
  if (te) return te;
  te = { summary: new Set(), mandatory: new Set(), choiceSummary: [], choiceMandatory: [] };
  for (const el of defs.resourceDefinitions.get(type)?.snapshot?.element ?? []) {
    const parts = el.path.split('.');
    if (parts.length !== 2) continue;
    const name = parts[1];
    const choice = name.endsWith('[x]') ? name.slice(0, -3) : undefined;
    if (el.isSummary) choice ? te.choiceSummary.push(choice) : te.summary.add(name);
    if ((el.min ?? 0) > 0) choice ? te.choiceMandatory.push(choice) : te.mandatory.add(name);
  }
  byType.set(type, te);
  return te;
}

const hasChoice = (prefixes: string[], key: string) => prefixes.some((p) => key.startsWith(p) && /^[A-Z]/.test(key.slice(p.length)));

export function parseSummary(value: string | undefined): SummaryMode | undefined {
  if (value === undefined) return undefined;
  if (!['true', 'text', 'data', 'count', 'false'].includes(value)) {
    throw badRequest(`_summary must be one of true, text, data, count, false (got '${value.slice(0, 20)}')`);
  }
  return value as SummaryMode;
}

export function parseElements(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!/^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/.test(n)) throw badRequest(`_elements: '${n.slice(0, 40)}' is not an element name`);
  return names.map((n) => n.split('.').pop()!);
}

/** Returns the resource reduced per _summary / _elements (a new object), tagged SUBSETTED when reduced. */
export function subset(defs: Definitions, resource: Resource, summary?: SummaryMode, elements?: string[]): Resource {
  if ((!summary || summary === 'false') && !elements) return resource;
  const te = elementsOf(defs, resource.resourceType);
  const r = resource as unknown as Record<string, unknown>;
  let keep: (key: string) => boolean;
  if (elements) {
    const wanted = new Set(elements);
    keep = (k) => wanted.has(k) || te.mandatory.has(k) || hasChoice(te.choiceMandatory, k) || wanted.has(k.replace(/[A-Z].*$/, ''));
  } else if (summary === 'text') {
    keep = (k) => k === 'text' || te.mandatory.has(k) || hasChoice(te.choiceMandatory, k);
  } else if (summary === 'data') {
    keep = (k) => k !== 'text';
  } else {
    keep = (k) => te.summary.has(k) || hasChoice(te.choiceSummary, k);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) {
    if (k === 'resourceType' || k === 'id' || k === 'meta' || keep(k)) out[k] = v;
  }
  const meta = { ...((r.meta as object) ?? {}) } as { tag?: Coding[] };
  meta.tag = [...(meta.tag ?? []).filter((t) => t.code !== 'SUBSETTED'), SUBSETTED];
  out.meta = meta;
  return out as unknown as Resource;
}
