import type { DistinctQuery } from './port.js';

/**
 * The values a distinct query takes from one search document: of the elements of its array
 * `field` whose `where` fields equal the wanted strings, the `key` field when it is a string
 * starting with `prefix`. Both adapters walk documents with it (the embedded store over its
 * matches, the MongoDB adapter when the server cannot run the pipeline), so they agree.
 */
export function distinctCollector(q: Pick<DistinctQuery, 'field' | 'key' | 'where' | 'prefix'>): (doc: object, into: Set<string>) => void {
  const path = q.field.split('.');
  const where = Object.entries(q.where ?? {});
  const prefix = q.prefix ?? '';
  const { key } = q;
  return (doc, into) => {
    let arr: unknown = doc;
    for (const part of path) arr = arr && typeof arr === 'object' ? (arr as Record<string, unknown>)[part] : undefined;
    if (!Array.isArray(arr)) return;
    elements: for (const el of arr) {
      if (!el || typeof el !== 'object') continue;
      const e = el as Record<string, unknown>;
      const v = e[key];
      if (typeof v !== 'string' || !v.startsWith(prefix)) continue;
      for (const [k, want] of where) if (e[k] !== want) continue elements;
      into.add(v);
    }
  };
}
