import { badRequest, notSupported } from '../fhir/errors.js';
import type { Filter } from '../store/port.js';
import { elem } from './compiled.js';
import { dateCondition } from './compile-date.js';
import { numberCondition, quantityCondition } from './compile-number.js';
import { referenceKeys } from './compile-reference.js';
import { stringCondition } from './compile-string.js';
import { tokenEntryCondition } from './compile-token.js';
import { uriCondition } from './compile-uri.js';
import type { ParamType } from './params.js';
import { splitEscaped, unescapeValue } from './search-value.js';

/**
 * Composite search: `a$b` where each part is searched as its component's parameter type, and
 * all parts must hold within the same element (one `idx.cmp` entry, component i under k<i>).
 */
export function compileComposite(param: string, code: string, componentTypes: readonly ParamType[], raw: string, base: string): Filter {
  const parts = splitEscaped(raw, '$');
  if (parts.length !== componentTypes.length) {
    throw badRequest(`Parameter '${param}' takes ${componentTypes.length} values separated by '$'`, 'value');
  }
  const cond: Filter = {};
  parts.forEach((part, i) => {
    cond[`k${i}`] = { $elemMatch: componentCondition(param, componentTypes[i], part, base) };
  });
  return elem('cmp', code, cond);
}

function componentCondition(param: string, type: ParamType, raw: string, base: string): Filter {
  switch (type) {
    case 'token':
      return tokenEntryCondition(param, raw);
    case 'string':
      return stringCondition(param, undefined, raw);
    case 'date':
      return dateCondition(param, raw);
    case 'number':
      return numberCondition(param, raw);
    case 'quantity':
      return quantityCondition(param, raw);
    case 'uri':
      return uriCondition(param, undefined, raw);
    case 'reference': {
      const keys = referenceKeys(param, unescapeValue(raw), [], base);
      return { r: { $in: keys } };
    }
    default:
      throw notSupported(`Composite parameter '${param}' has a component of unsupported type '${type}'`);
  }
}
