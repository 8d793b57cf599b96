import { badRequest } from '../fhir/errors.js';
import type { Sort } from '../store/port.js';
import type { ParamRegistry } from './params.js';
import { SAFE_CODE } from './params.js';

const SORTABLE = new Set(['string', 'token', 'date', 'number', 'quantity', 'reference', 'uri']);

/** One sort key: the document field and, for index parameters, the parameter code. */
export interface SortSpec {
  field: string;
  dir: 1 | -1;
  /** Parameter code for idx.srt keys; undefined for top-level fields (lu, type, id). */
  code?: string;
}

/**
 * `_sort=a,-b` → sort keys over the precomputed per-parameter keys (`idx.srt.<code>.a` for
 * ascending — the smallest value —, `.d` for descending — the largest), then type and id so
 * that the order is total, which keyset paging needs.
 */
export function compileSort(registry: ParamRegistry, types: readonly string[], value: string | undefined): SortSpec[] {
  const specs: SortSpec[] = [];
  for (const raw of value === undefined ? [] : value.split(',')) {
    const item = raw.trim();
    if (!item) throw badRequest(`Invalid _sort value '${value!.slice(0, 100)}': an empty sort key`, 'value');
    const desc = item.startsWith('-');
    const code = desc ? item.slice(1) : item;
    const dir = desc ? -1 : 1;
    if (code === '_id') specs.push({ field: 'id', dir });
    else if (code === '_lastUpdated') specs.push({ field: 'lu', dir });
    else {
      for (const t of types) {
        const def = registry.get(t, code);
        if (!def) throw badRequest(`Unknown sort parameter '${code}' for resource type '${t}'`, 'not-supported');
        if (!SORTABLE.has(def.type) || !SAFE_CODE.test(code)) throw badRequest(`Cannot sort on parameter '${code}'`, 'not-supported');
      }
      specs.push({ field: `idx.srt.${code}.${desc ? 'd' : 'a'}`, dir, code });
    }
  }
  if (specs.length > 8) throw badRequest('At most 8 sort keys are supported', 'too-costly');
  if (!specs.some((s) => s.field === 'type')) specs.push({ field: 'type', dir: 1 });
  if (!specs.some((s) => s.field === 'id')) specs.push({ field: 'id', dir: 1 });
  return specs;
}

export function toStoreSort(specs: readonly SortSpec[], reverse = false): Sort {
  return specs.map((s) => [s.field, (reverse ? -s.dir : s.dir) as 1 | -1] as const);
}
