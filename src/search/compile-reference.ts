import { badRequest, notSupported } from '../fhir/errors.js';
import type { Filter } from '../store/port.js';
import { anyOf, elem } from './compiled.js';
import { codesFilter, tokenEntryCondition } from './compile-token.js';
import { normalizeReference } from './node-values.js';
import { unescapeValue } from './search-value.js';

const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * Reference search over `idx.ref` entries {r: 'Type/id' | absolute URL | canonical}.
 * A bare id means that id on any target type; `:Type` narrows to one type; `:identifier`
 * matches Reference.identifier (indexed as a token under `<code>:identifier`).
 */
export function compileReference(
  param: string,
  code: string,
  modifier: string | undefined,
  values: string[],
  targets: readonly string[],
  base: string,
): Filter {
  if (modifier === 'identifier') {
    return codesFilter(`${code}:identifier`, values.map((v) => tokenEntryCondition(param, v)));
  }
  let typeFilter: string | undefined;
  if (modifier !== undefined) {
    if (!/^[A-Z][A-Za-z]+$/.test(modifier) || (targets.length > 0 && !targets.includes(modifier))) {
      throw notSupported(`Unsupported modifier ':${modifier}' on reference parameter '${param}'`);
    }
    typeFilter = modifier;
  }
  const refs: string[] = [];
  for (const raw of values) refs.push(...referenceKeys(param, unescapeValue(raw), targets, base, typeFilter));
  if (refs.length === 0) return { id: { $in: [] } };
  return anyOf([elem('ref', code, refs.length === 1 ? { r: refs[0] } : { r: { $in: refs } })]);
}

/** The stored forms a reference search value can match. */
export function referenceKeys(param: string, value: string, targets: readonly string[], base: string, type?: string): string[] {
  if (!value) throw badRequest(`Empty reference in parameter '${param}'`, 'value');
  // '#id' names a resource contained in each resource that uses it: no resource on the server
  if (value.startsWith('#')) throw badRequest(`'${value}' in parameter '${param}' is a reference to a contained resource, which has no meaning outside its container`, 'value');
  if (ID_RE.test(value)) {
    const types = type ? [type] : targets;
    return types.map((t) => `${t}/${value}`);
  }
  const r = normalizeReference(value, base);
  if (type && !r.startsWith(`${type}/`)) return [];
  return [r];
}
