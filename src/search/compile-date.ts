import { badRequest } from '../fhir/errors.js';
import type { Filter } from '../store/port.js';
import { dateRange } from './date-range.js';
import { PREFIXES, splitPrefix, unescapeValue, type Prefix } from './search-value.js';

/**
 * Date search (search.html "date"): the search value and the stored value are both ranges,
 * and each prefix is defined by how the ranges relate. Returns a condition over the stored
 * range's bound fields (`lo`/`hi` inside an index entry, or `lu`/`lu` for _lastUpdated).
 */
export function dateCondition(param: string, raw: string, lo = 'lo', hi = 'hi', now = Date.now()): Filter {
  const { prefix, rest } = splitPrefix(unescapeValue(raw));
  const r = dateRange(rest);
  if (!r) throw badRequest(`Invalid date '${rest.slice(0, 60)}' in parameter '${param}': a date is [prefix]YYYY[-MM[-DD[Thh:mm[:ss]][zone]]], the prefix one of ${PREFIXES.join(' ')}`, 'value');
  return rangeCondition(prefix, r[0], r[1], lo, hi, now);
}

export function rangeCondition(prefix: Prefix, sLo: number, sHi: number, lo: string, hi: string, now: number): Filter {
  const contained = both(lo, { $gte: sLo }, hi, { $lte: sHi });
  switch (prefix) {
    case 'eq':
      return contained;
    case 'ne':
      return { $or: [{ [lo]: { $lt: sLo } }, { [hi]: { $gt: sHi } }] };
    case 'gt':
      return { [hi]: { $gt: sHi } };
    case 'lt':
      return { [lo]: { $lt: sLo } };
    case 'ge':
      return { $or: [{ [hi]: { $gt: sHi } }, contained] };
    case 'le':
      return { $or: [{ [lo]: { $lt: sLo } }, contained] };
    case 'sa':
      return { [lo]: { $gt: sHi } };
    case 'eb':
      return { [hi]: { $lt: sLo } };
    case 'ap': {
      // 10% of the gap between now and the value, as the spec recommends
      const gap = Math.max(Math.abs(now - sLo), Math.abs(now - sHi)) * 0.1;
      return both(lo, { $lte: sHi + gap }, hi, { $gte: sLo - gap });
    }
  }
}

/**
 * A condition on each bound field. They are one field for a point (`lu`, _lastUpdated): its two
 * conditions then go into one object, where written as two keys the second replaced the first
 * (`_lastUpdated=ge...` matched everything).
 */
function both(lo: string, onLo: Record<string, number>, hi: string, onHi: Record<string, number>): Filter {
  return lo === hi ? { [lo]: { ...onLo, ...onHi } } : { [lo]: onLo, [hi]: onHi };
}
