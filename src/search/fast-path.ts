import r4model from 'fhirpath/fhir-context/r4/index.js';

/**
 * A fast evaluator for the search-parameter expressions that are plain paths (most of them):
 * `Observation.code`, `Patient.name.given`, `Observation.value as Quantity`,
 * `(Condition.onset as dateTime)`, `A.b | A.c`. It walks the JSON directly, typing each node
 * from the FHIRPath R4 model, and returns the same nodes (data + fhirNodeDataType) that
 * fhirpath.js returns, at a fraction of the cost. Anything else returns undefined and is left
 * to fhirpath.js. test/search/fast-path.test.ts checks both agree on every resource of the
 * Synthea and R4 example sets.
 */
export interface FastNode {
  data: unknown;
  fhirNodeDataType: string;
}
export type FastFn = (input: unknown) => FastNode[];

interface Model {
  path2Type: Record<string, string>;
  choiceTypePaths: Record<string, string[]>;
  pathsDefinedElsewhere: Record<string, string>;
}
const model = r4model as unknown as Model;
/** Types that have elements in the model (resources and datatypes), to recognise an expression's root. */
const ROOTS = new Set(Object.keys(model.path2Type).map((k) => k.split('.')[0]));

const PRIMITIVES = new Set([
  'boolean', 'integer', 'string', 'decimal', 'uri', 'url', 'canonical', 'base64Binary', 'instant', 'date',
  'dateTime', 'time', 'code', 'oid', 'id', 'markdown', 'unsignedInt', 'positiveInt', 'uuid',
]);
const ANONYMOUS = new Set(['BackboneElement', 'Element']);

/** The FHIRPath type name of a choice suffix: valueString → string, valueQuantity → Quantity. */
function choiceType(suffix: string): string {
  const lower = suffix[0].toLowerCase() + suffix.slice(1);
  return PRIMITIVES.has(lower) ? lower : suffix;
}

interface Step {
  /** Property name, or the choice prefix. */
  name: string;
  /** For a choice element: [json key, type] pairs. */
  choices?: Array<[string, string]>;
  /** Type of a non-choice element. */
  type?: string;
}

const PART = /^\(?\s*([A-Z][A-Za-z]*(?:\.[a-z][A-Za-z0-9]*)+)\s*(?:\s+as\s+([A-Za-z]+)|\.as\(([A-Za-z]+)\))?\s*\)?$/;

export function compileFast(expression: string): FastFn | undefined {
  const parts = splitUnion(expression);
  if (!parts) return undefined;
  const fns: FastFn[] = [];
  for (const p of parts) {
    const fn = compilePart(p);
    if (!fn) return undefined;
    fns.push(fn);
  }
  return fns.length === 1 ? fns[0] : (input) => fns.flatMap((f) => f(input));
}

function splitUnion(expression: string): string[] | undefined {
  if (/['"`\[\]]|where|resolve|exists|extension|ofType|is\b/.test(expression)) return undefined;
  return expression.split('|').map((s) => s.trim());
}

function compilePart(part: string): FastFn | undefined {
  const m = PART.exec(part);
  if (!m) return undefined;
  const segs = m[1].split('.');
  const root = segs[0];
  const asType = m[2] ?? m[3];
  if (!ROOTS.has(root)) return undefined;
  // Resolve the static path of every step; a choice element may only come last.
  const steps: Step[] = [];
  let at = root;
  for (let i = 1; i < segs.length; i++) {
    const mp = `${at}.${segs[i]}`;
    const choice = model.choiceTypePaths[mp];
    if (choice) {
      if (i !== segs.length - 1) return undefined;
      steps.push({ name: segs[i], choices: choice.map((t) => [segs[i] + t, choiceType(t)]) });
      break;
    }
    const type = model.path2Type[mp];
    if (!type || type === 'Resource' || type === 'DomainResource') return undefined;
    steps.push({ name: segs[i], type });
    at = ANONYMOUS.has(type) ? (model.pathsDefinedElsewhere[mp] ?? mp) : type;
  }
  return (input) => {
    if (!input || typeof input !== 'object' || (input as { resourceType?: unknown }).resourceType !== root) return [];
    let nodes: FastNode[] = [{ data: input, fhirNodeDataType: root }];
    for (const step of steps) {
      const next: FastNode[] = [];
      for (const n of nodes) {
        const obj = n.data;
        if (!obj || typeof obj !== 'object' || Array.isArray(obj)) continue;
        if (step.choices) {
          for (const [key, type] of step.choices) push(next, (obj as Record<string, unknown>)[key], type);
        } else push(next, (obj as Record<string, unknown>)[step.name], step.type!);
      }
      nodes = next;
      if (nodes.length === 0) return nodes;
    }
    return asType ? nodes.filter((n) => n.fhirNodeDataType === asType) : nodes;
  };
}

function push(out: FastNode[], value: unknown, type: string): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    for (const v of value) if (v !== undefined && v !== null) out.push({ data: v, fhirNodeDataType: type });
  } else out.push({ data: value, fhirNodeDataType: type });
}
