import { badRequest } from '../fhir/errors.js';
import type { Filter } from '../store/port.js';
import { escapeRegex, fold } from './fold.js';
import { unescapeValue } from './search-value.js';

/**
 * String search: by default the folded stored value starts with the folded search value;
 * :contains anywhere; :exact compares the unfolded copy. Client text only ever reaches the
 * store as an escaped, anchored regex or a plain equality value.
 */
export function stringCondition(param: string, modifier: string | undefined, raw: string): Filter {
  const value = unescapeValue(raw);
  switch (modifier) {
    case undefined:
      return { v: { $regex: '^' + escapeRegex(fold(value)) } };
    case 'contains':
      return { v: { $regex: escapeRegex(fold(value)) } };
    case 'exact':
      return { x: value };
    default:
      throw badRequest(`Unsupported modifier ':${modifier}' on string parameter '${param}'`, 'not-supported');
  }
}
