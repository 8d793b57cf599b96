import { badRequest } from '../fhir/errors.js';

/**
 * The lexical layer of FHIR search values: `,` separates OR alternatives, `|` and `$` separate
 * parts, and `\` escapes any of them (search.html "Escaping Search Parameters").
 */

/** Longest OR list one parameter may carry; beyond it the query is refused, not attempted. */
export const MAX_OR_VALUES = 1000;
/** Longest single value accepted (index keys and regexes stay bounded). */
export const MAX_VALUE_LENGTH = 2048;

/** Splits on an unescaped separator, keeping escapes in the parts. */
export function splitEscaped(s: string, sep: string): string[] {
  // Most values have no escape: a plain split, not a string built a character at a time; and
  // most have no separator either, where split (a runtime call) would only copy the value.
  if (!s.includes('\\')) return s.includes(sep) ? s.split(sep) : [s];
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '\\' && i + 1 < s.length) {
      cur += ch + s[i + 1];
      i++;
    } else if (ch === sep) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** Removes escapes: `\,` → `,`, `\|` → `|`, `\$` → `$`, `\\` → `\`. */
export function unescapeValue(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\([\\,|$])/g, '$1');
}

/** The OR alternatives of a parameter value (still escaped for `|` and `$`). */
export function orValues(param: string, value: string): string[] {
  if (value.length > MAX_VALUE_LENGTH * 4) throw badRequest(`Value of '${param}' is too long`, 'too-costly');
  const parts = splitEscaped(value, ',');
  if (parts.length > MAX_OR_VALUES) {
    throw badRequest(`Parameter '${param}' has ${parts.length} alternatives; at most ${MAX_OR_VALUES} are accepted`, 'too-costly');
  }
  for (const p of parts) if (p.length > MAX_VALUE_LENGTH) throw badRequest(`A value of '${param}' is too long`, 'too-costly');
  return parts;
}

export const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'] as const;
export type Prefix = (typeof PREFIXES)[number];

/**
 * Splits an ordered value into prefix and rest. Only the prefix codes are a prefix: other letters
 * are part of the value, which its own parser then refuses ('garbage' is not a date, not a prefix 'ga').
 */
export function splitPrefix(value: string): { prefix: Prefix; rest: string } {
  const p = value.slice(0, 2);
  return (PREFIXES as readonly string[]).includes(p) ? { prefix: p as Prefix, rest: value.slice(2) } : { prefix: 'eq', rest: value };
}
