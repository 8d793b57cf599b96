import { badRequest } from '../fhir/errors.js';
import type { Filter } from '../store/port.js';
import { PREFIXES, splitEscaped, splitPrefix, unescapeValue, type Prefix } from './search-value.js';
import { ucumConverter, UCUM_SYSTEM } from './ucum.js';

const NUMBER_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Number search: `100` means the interval its significant figures imply ([99.5, 100.5)),
 * while gt/lt/ge/le/sa/eb compare against the value itself (search.html "number").
 * Stored entries are ranges {lo, hi}; a plain value has lo = hi.
 */
export function numberCondition(param: string, raw: string): Filter {
  const { prefix, rest } = splitPrefix(unescapeValue(raw));
  return numericCondition(param, prefix, rest);
}

/** Field names of a stored range, and how a query bound maps onto them (identity, or a unit conversion). */
interface Scale {
  lo: string;
  hi: string;
  convert: (v: number) => number;
}
const AS_IS: Scale = { lo: 'lo', hi: 'hi', convert: (v) => v };

function numericCondition(param: string, prefix: Prefix, text: string, scale: Scale = AS_IS): Filter {
  if (!NUMBER_RE.test(text)) throw badRequest(`Invalid number '${text.slice(0, 60)}' in parameter '${param}': a number is [prefix]decimal, the prefix one of ${PREFIXES.join(' ')}`, 'value');
  const v = Number(text);
  if (!Number.isFinite(v)) throw badRequest(`Invalid number '${text}' in parameter '${param}'`, 'value');
  const { below, above, half } = implicitRange(text);
  // Bounds are worked out in the query's unit, then converted (conversions are increasing).
  const c = scale.convert;
  const { lo, hi } = scale;
  // [below, above): when the value has more digits than a double holds, `above` is the value's own
  // double, which the range contains.
  const under = above === v ? '$lte' : '$lt';
  const over = above === v ? '$gt' : '$gte';
  switch (prefix) {
    case 'eq':
      return { [lo]: { $gte: c(below) }, [hi]: { [under]: c(above) } };
    case 'ne':
      return { $or: [{ [lo]: { $lt: c(below) } }, { [hi]: { [over]: c(above) } }] };
    case 'gt':
      return { [hi]: { $gt: c(v) } };
    case 'lt':
      return { [lo]: { $lt: c(v) } };
    case 'ge':
      return { [hi]: { $gte: c(v) } };
    case 'le':
      return { [lo]: { $lte: c(v) } };
    case 'sa':
      return { [lo]: { $gt: c(v) } };
    case 'eb':
      return { [hi]: { $lt: c(v) } };
    case 'ap': {
      const d = Math.max(Math.abs(v) * 0.1, half);
      return { [lo]: { $lte: c(v + d) }, [hi]: { $gte: c(v - d) } };
    }
  }
}

/**
 * The range a number's significant figures imply (search.html#number: 100 is [99.5, 100.5)),
 * with bounds worked out in decimal, then read as doubles: `0.4 - 0.05` in binary is
 * 0.35000000000000003, which left 0.35 out of `0.4`, and half a unit of the 14th decimal of
 * 178.08705005887956 vanishes when added to it in binary.
 */
function implicitRange(text: string): { below: number; above: number; half: number } {
  const [mant, exp = '0'] = text.toLowerCase().split('e');
  const dot = mant.indexOf('.');
  const decimals = dot < 0 ? 0 : mant.length - dot - 1;
  const digits = mant.replace('.', '').replace('+', '');
  // value = digits x 10^scale; the bounds are (10 x digits -/+ 5) x 10^(scale - 1).
  const scale = Number(exp) - decimals;
  const tenfold = BigInt(digits === '' || digits === '-' ? '0' : digits) * 10n;
  return {
    below: Number(`${tenfold - 5n}e${scale - 1}`),
    above: Number(`${tenfold + 5n}e${scale - 1}`),
    half: 0.5 * 10 ** scale,
  };
}

/**
 * Quantity search: `[prefix]number|system|code`; `number||code` matches the code or the unit
 * text. With the UCUM system and a unit UCUM can convert, values are compared in UCUM base
 * units (`ge5|http://unitsofmeasure.org|g` matches 5000 mg); any other system|code is matched
 * exactly as written.
 */
export function quantityCondition(param: string, raw: string): Filter {
  const parts = splitEscaped(raw, '|');
  if (parts.length !== 1 && parts.length !== 3) throw badRequest(`Invalid quantity '${raw}' in parameter '${param}'`, 'value');
  const { prefix, rest } = splitPrefix(unescapeValue(parts[0]));
  if (parts.length === 3) {
    const system = unescapeValue(parts[1]);
    const code = unescapeValue(parts[2]);
    if (system === UCUM_SYSTEM && code) {
      const canonical = canonicalCondition(param, prefix, rest, code);
      if (canonical) return canonical;
    }
    const cond: Filter = numericCondition(param, prefix, rest);
    if (system) {
      cond.s = system;
      if (code) cond.c = code;
    } else if (code) {
      const unit = { $or: [{ c: code }, { u: code }] };
      return cond.$or ? { $and: [{ $or: cond.$or }, unit], ...without(cond, '$or') } : { ...cond, ...unit };
    }
    return cond;
  }
  return numericCondition(param, prefix, rest);
}

/** The condition on the canonical fields, or undefined when UCUM cannot convert the unit (or a bound). */
function canonicalCondition(param: string, prefix: Prefix, text: string, code: string): Filter | undefined {
  const conv = ucumConverter(code);
  if (!conv) return undefined;
  let finite = true;
  const convert = (v: number) => {
    const r = conv.convert(v);
    if (!Number.isFinite(r)) finite = false;
    return r;
  };
  const cond = numericCondition(param, prefix, text, { lo: 'clo', hi: 'chi', convert });
  return finite ? { cu: conv.unit, ...cond } : undefined;
}

function without(f: Filter, key: string): Filter {
  const { [key]: _drop, ...rest } = f;
  return rest;
}
