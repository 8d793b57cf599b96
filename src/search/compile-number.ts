import { badRequest } from '../fhir/errors.js';
import type { Filter } from '../store/port.js';
import { splitEscaped, splitPrefix, unescapeValue, type Prefix } from './search-value.js';

const NUMBER_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Number search: `100` means the interval its significant figures imply ([99.5, 100.5)),
 * while gt/lt/ge/le/sa/eb compare against the value itself (search.html "number").
 * Stored entries are ranges {lo, hi}; a plain value has lo = hi.
 */
export function numberCondition(param: string, raw: string): Filter {
  const { prefix, rest } = splitPrefix(param, unescapeValue(raw));
  return numericCondition(param, prefix, rest);
}

function numericCondition(param: string, prefix: Prefix, text: string): Filter {
  if (!NUMBER_RE.test(text)) throw badRequest(`Invalid number '${text}' in parameter '${param}'`, 'value');
  const v = Number(text);
  if (!Number.isFinite(v)) throw badRequest(`Invalid number '${text}' in parameter '${param}'`, 'value');
  const [mant, exp] = text.toLowerCase().split('e');
  const decimals = mant.includes('.') ? mant.length - mant.indexOf('.') - 1 : 0;
  const half = 0.5 * 10 ** (Number(exp ?? 0) - decimals);
  const sLo = v - half;
  const sHi = v + half;
  switch (prefix) {
    case 'eq':
      return { lo: { $gte: sLo }, hi: { $lt: sHi } };
    case 'ne':
      return { $or: [{ lo: { $lt: sLo } }, { hi: { $gte: sHi } }] };
    case 'gt':
      return { hi: { $gt: v } };
    case 'lt':
      return { lo: { $lt: v } };
    case 'ge':
      return { hi: { $gte: v } };
    case 'le':
      return { lo: { $lte: v } };
    case 'sa':
      return { lo: { $gt: v } };
    case 'eb':
      return { hi: { $lt: v } };
    case 'ap': {
      const d = Math.max(Math.abs(v) * 0.1, half);
      return { lo: { $lte: v + d }, hi: { $gte: v - d } };
    }
  }
}

/**
 * Quantity search: `[prefix]number|system|code`; `number||code` matches the code or the unit
 * text. Units are compared as given (no UCUM conversion).
 */
export function quantityCondition(param: string, raw: string): Filter {
  const parts = splitEscaped(raw, '|');
  if (parts.length !== 1 && parts.length !== 3) throw badRequest(`Invalid quantity '${raw}' in parameter '${param}'`, 'value');
  const { prefix, rest } = splitPrefix(param, unescapeValue(parts[0]));
  const cond: Filter = numericCondition(param, prefix, rest);
  if (parts.length === 3) {
    const system = unescapeValue(parts[1]);
    const code = unescapeValue(parts[2]);
    if (system) {
      cond.s = system;
      if (code) cond.c = code;
    } else if (code) {
      const unit = { $or: [{ c: code }, { u: code }] };
      return cond.$or ? { $and: [{ $or: cond.$or }, unit], ...without(cond, '$or') } : { ...cond, ...unit };
    }
  }
  return cond;
}

function without(f: Filter, key: string): Filter {
  const { [key]: _drop, ...rest } = f;
  return rest;
}
