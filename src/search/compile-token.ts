import { badRequest, notSupported } from '../fhir/errors.js';
import type { Filter } from '../store/port.js';
import { anyOf, elem, none } from './compiled.js';
import { escapeRegex, fold } from './fold.js';
import { splitEscaped, unescapeValue } from './search-value.js';
import { MAX_EXPANSION, type CodeSet, type Terminology } from './terminology.js';

/**
 * Token search over `idx.tok` entries {s: system, c: code/value, t: folded display/text,
 * ts/tc: identifier type}. Codes are compared exactly (case-sensitive), as the spec asks.
 */

/** Condition on one token entry for `code`, `system|code`, `|code` or `system|`. */
export function tokenEntryCondition(param: string, raw: string): Filter {
  const parts = splitEscaped(raw, '|');
  if (parts.length === 1) return { c: unescapeValue(parts[0]) };
  if (parts.length !== 2) throw badRequest(`Invalid token '${raw}' in parameter '${param}'`, 'value');
  const system = unescapeValue(parts[0]);
  const code = unescapeValue(parts[1]);
  if (!system) return { c: code, s: { $exists: false } };
  return code ? { s: system, c: code } : { s: system };
}

export function compileToken(
  param: string,
  code: string,
  modifier: string | undefined,
  values: string[],
  terminology: Terminology,
): Filter {
  const positive = (vals: string[]) => codesFilter(code, vals.map((v) => tokenEntryCondition(param, v)));
  switch (modifier) {
    case undefined:
      return positive(values);
    case 'not':
      return none([positive(values)]);
    case 'text':
      // search.html#token: "processed as a string": a string matches when it equals or starts with the value (folded).
      return anyOf(values.map((v) => elem('tok', code, { t: { $regex: '^' + escapeRegex(fold(unescapeValue(v))) } })));
    case 'of-type':
      return anyOf(
        values.map((v) => {
          const parts = splitEscaped(v, '|').map(unescapeValue);
          if (parts.length !== 3 || !parts[1] || !parts[2]) {
            throw badRequest(`':of-type' on '${param}' takes type-system|type-code|value`, 'value');
          }
          const cond: Filter = { tc: parts[1], c: parts[2] };
          if (parts[0]) cond.ts = parts[0];
          return elem('tok', code, cond);
        }),
      );
    case 'in':
    case 'not-in': {
      const sets = values.map((v) => {
        const url = unescapeValue(v);
        const set = terminology.expand(url);
        if (!set) throw notSupported(`Value set '${url}' is not known to this server or cannot be expanded (parameter '${param}')`);
        return set;
      });
      const f = anyOf(sets.map((s) => codeSetFilter(param, code, s)));
      return modifier === 'in' ? f : none([f]);
    }
    case 'below':
    case 'above':
      return anyOf(
        values.map((v) => {
          const parts = splitEscaped(v, '|').map(unescapeValue);
          if (parts.length !== 2 || !parts[0] || !parts[1]) {
            throw badRequest(`':${modifier}' on '${param}' takes system|code`, 'value');
          }
          const set = modifier === 'below' ? terminology.below(parts[0], parts[1]) : terminology.above(parts[0], parts[1]);
          if (!set) throw notSupported(`The hierarchy of code system '${parts[0]}' is not known to this server (parameter '${param}:${modifier}')`);
          return codeSetFilter(param, code, new Map([[parts[0], set]]));
        }),
      );
    default:
      throw notSupported(`Unsupported modifier ':${modifier}' on token parameter '${param}'`);
  }
}

/** OR of entry conditions; plain codes are merged into one `$in` (index-friendly, one $elemMatch). */
export function codesFilter(code: string, conds: Filter[]): Filter {
  const plain: string[] = [];
  const others: Filter[] = [];
  for (const c of conds) {
    if (Object.keys(c).length === 1 && typeof c.c === 'string') plain.push(c.c);
    else others.push(elem('tok', code, c));
  }
  if (plain.length === 1) others.unshift(elem('tok', code, { c: plain[0] }));
  else if (plain.length > 1) others.unshift(elem('tok', code, { c: { $in: plain } }));
  return anyOf(others);
}

function codeSetFilter(param: string, code: string, set: CodeSet): Filter {
  let total = 0;
  const parts: Filter[] = [];
  for (const [system, codes] of set) {
    total += codes.size;
    if (codes.size) parts.push(elem('tok', code, { s: system, c: { $in: [...codes] } }));
  }
  if (total > MAX_EXPANSION) throw badRequest(`The expansion for '${param}' is too large to search on`, 'too-costly');
  return parts.length ? anyOf(parts) : { id: { $in: [] } };
}
