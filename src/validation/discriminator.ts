import type { ElementNode } from './tree.js';

/** One step of a slicing discriminator path: `code`, `$this`, `extension('url')`, `ofType(Quantity)`, `resolve()`. */
export interface Step {
  name: string;
  arg?: string;
}

export function parseDiscriminatorPath(path: string): Step[] {
  const steps: Step[] = [];
  const re = /\s*([A-Za-z_$][\w$]*(?:\[x\])?)(?:\(\s*(?:'([^']*)'|([^)]*))\s*\))?\s*(?:\.|$)/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < path.length && (m = re.exec(path))) {
    steps.push({ name: m[1].replace(/\[x\]$/, ''), arg: m[2] ?? (m[3]?.trim() || undefined) });
  }
  return steps;
}

/** A value reached by a path, with its FHIR type where the JSON property names it (choice elements). */
export interface Reached {
  value: unknown;
  type?: string;
}

function asArray(v: unknown): unknown[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Evaluates a discriminator path over JSON. Returns undefined where it cannot tell (resolve()). */
export function evalPath(start: Reached, steps: Step[], typeNames: ReadonlySet<string>): Reached[] | undefined {
  let cur: Reached[] = [start];
  for (const step of steps) {
    const next: Reached[] = [];
    if (step.name === '$this') continue;
    if (step.name === 'resolve') return undefined;
    for (const r of cur) {
      const obj = r.value as Record<string, unknown>;
      if (typeof obj !== 'object' || obj === null) {
        if (step.name === 'ofType' && r.type === step.arg) next.push(r);
        continue;
      }
      if (step.name === 'extension' && step.arg !== undefined) {
        for (const e of asArray(obj.extension)) if ((e as { url?: string })?.url === step.arg) next.push({ value: e, type: 'Extension' });
        continue;
      }
      if (step.name === 'ofType') {
        if (!r.type || r.type === step.arg) next.push({ value: r.value, type: step.arg });
        continue;
      }
      if (obj[step.name] !== undefined) {
        for (const v of asArray(obj[step.name])) next.push({ value: v });
        continue;
      }
      for (const key in obj) {
        if (key.length > step.name.length && key.startsWith(step.name)) {
          const suffix = key.slice(step.name.length);
          const type = typeNames.has(suffix) ? suffix : typeNames.has(suffix.charAt(0).toLowerCase() + suffix.slice(1)) ? suffix.charAt(0).toLowerCase() + suffix.slice(1) : undefined;
          if (type) for (const v of asArray(obj[key])) next.push({ value: v, type });
        }
      }
    }
    cur = next;
  }
  return cur;
}

/** Finds the element definition a discriminator path points to inside a slice. */
export function nodeAtPath(slice: ElementNode, steps: Step[]): ElementNode | undefined {
  let node: ElementNode | undefined = slice;
  for (const step of steps) {
    if (!node) return undefined;
    if (step.name === '$this' || step.name === 'ofType') continue;
    if (step.name === 'resolve') return undefined;
    if (step.name === 'extension' && step.arg !== undefined) {
      const ext: ElementNode | undefined = node.children.find((c) => c.name === 'extension');
      node = ext?.slices.find((s) => s.types.some((t) => t.profiles.includes(step.arg as string)));
      continue;
    }
    node = node.children.find((c) => c.name === step.name);
  }
  return node;
}
