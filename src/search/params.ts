import type { SearchParameter } from 'fhir/r4.js';

export type ParamType = NonNullable<SearchParameter['type']>;

/** One search parameter as it applies to one resource type. */
export interface ParamDef {
  code: string;
  type: ParamType;
  /** The FHIRPath expression restricted to this resource type and rewritten for fhirpath.js; undefined = no index. */
  expression?: string;
  /** Reference target types ("Resource" expanded to every type). */
  targets: readonly string[];
  /** For `where(resolve() is X)` parameters: the types a contained (`#id`) target must have. */
  containedTypes?: ReadonlySet<string>;
  /**
   * When every part of the expression ends in `.where(resolve() is X)` with one X: the filter is
   * left out of `expression` and the extractor tests each reference for X in code instead.
   */
  resolveType?: string;
  /** Composite components: the definition they reuse (by canonical URL) and their relative expression. */
  components: ReadonlyArray<{ definition: string; expression: string }>;
  sp: SearchParameter;
}

/** Codes usable as field-name fragments (`idx.srt.<code>`); anything else gets no sort key. */
export const SAFE_CODE = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** Parameters whose values live in top-level fields of the search document, not in `idx`. */
export const TOP_LEVEL_PARAMS = new Set(['_id', '_lastUpdated']);

/**
 * The search parameters of every resource type, built from SearchParameter resources (the
 * official R4 set plus any extra ones, which win on a code clash). A parameter whose base is
 * Resource or DomainResource applies to every type.
 */
export class ParamRegistry {
  private readonly byType = new Map<string, Map<string, ParamDef>>();
  private readonly byUrl = new Map<string, SearchParameter>();

  constructor(
    readonly resourceTypes: readonly string[],
    official: readonly SearchParameter[],
    extra: readonly SearchParameter[] = [],
  ) {
    const typeSet = new Set(resourceTypes);
    for (const sp of [...official, ...extra]) {
      if (sp.resourceType !== 'SearchParameter' || !sp.code || !sp.type) continue;
      if (sp.url) this.byUrl.set(sp.url, sp);
      for (const base of sp.base ?? []) {
        const types = base === 'Resource' || base === 'DomainResource' ? resourceTypes : typeSet.has(base) ? [base] : [];
        for (const type of types) {
          let map = this.byType.get(type);
          if (!map) this.byType.set(type, (map = new Map()));
          map.set(sp.code, this.defFor(type, base, sp));
        }
      }
    }
  }

  get(type: string, code: string): ParamDef | undefined {
    return this.byType.get(type)?.get(code);
  }

  forType(type: string): ParamDef[] {
    return [...(this.byType.get(type)?.values() ?? [])];
  }

  definition(url: string): SearchParameter | undefined {
    return this.byUrl.get(url.split('|')[0]);
  }

  private defFor(type: string, base: string, sp: SearchParameter): ParamDef {
    const targets = (sp.target ?? []).flatMap((t) => (t === 'Resource' ? this.resourceTypes : [t]));
    const expr = sp.expression ? expressionFor(sp.expression, type, base) : undefined;
    return {
      code: sp.code,
      type: sp.type,
      expression: expr?.expression,
      containedTypes: expr?.containedTypes,
      resolveType: expr?.resolveType,
      targets,
      components: (sp.component ?? []).map((c) => ({ definition: c.definition, expression: c.expression })),
      sp,
    };
  }
}

/**
 * The part of a (possibly multi-type) expression that applies to `type`: the official
 * definitions join one path per type with `|`, and evaluating the others on every write would
 * be wasted work. `Resource.`/`DomainResource.` roots become the concrete type.
 */
export function expressionFor(
  expression: string,
  type: string,
  base: string,
): { expression: string; containedTypes?: ReadonlySet<string>; resolveType?: string } | undefined {
  const parts = splitTopLevel(expression, '|').map((p) => p.trim());
  const kept: string[] = [];
  for (const part of parts) {
    const root = /^\(*\s*([A-Za-z]+)/.exec(part)?.[1];
    if (root === type) kept.push(part);
    else if (root === 'Resource' || root === 'DomainResource') kept.push(part.replace(/^(\(*\s*)(Resource|DomainResource)\b/, `$1${type}`));
  }
  if (kept.length === 0 && parts.length === 1 && base === type) kept.push(parts[0]);
  if (kept.length === 0) return undefined;
  const types = containedTypes(kept);
  const only = types?.size === 1 ? [...types][0] : undefined;
  if (only && kept.every((p) => ENDS_IN_RESOLVE.test(p))) {
    // Every part ends in the same filter: the plain paths (fast path) plus the test in code.
    return { expression: kept.map((p) => p.replace(RESOLVE_IS, '')).join(' | '), resolveType: only };
  }
  return { expression: kept.map((p) => rewriteResolve(p, types !== undefined)).join(' | '), containedTypes: types };
}

/** A path whose last step is `.where(resolve() is X)` (possibly inside closing parentheses). */
const ENDS_IN_RESOLVE = /\.where\(\s*resolve\(\)\s+is\s+[A-Za-z]+\s*\)[\s)]*$/;

const RESOLVE_IS = /\.where\(\s*resolve\(\)\s+is\s+([A-Za-z]+)\s*\)/g;

/**
 * `x.where(resolve() is Patient)` needs the target resource, which fhirpath.js would fetch over
 * HTTP; judging by the reference itself is what a server can do at write time. A reference to
 * a contained resource (`#id`) is let through when every part of the expression is such a
 * filter: the extractor then keeps it only if the contained resource has one of
 * `containedTypes(expression)` (judging in code costs less than a FHIRPath look-up per value).
 */
function rewriteResolve(expr: string, contained: boolean): string {
  return expr.replace(
    RESOLVE_IS,
    (_m, t: string) => `.where(reference.startsWith('${t}/') or reference.contains('/${t}/') or type = '${t}'${contained ? " or reference.startsWith('#')" : ''})`,
  );
}

/** The resolve() types of an expression whose every union part ends in such a filter; else undefined. */
export function containedTypes(parts: readonly string[]): ReadonlySet<string> | undefined {
  const types = new Set<string>();
  for (const part of parts) {
    const found = [...part.matchAll(RESOLVE_IS)].map((m) => m[1]);
    if (found.length === 0) return undefined;
    for (const t of found) types.add(t);
  }
  return types;
}

/** Splits on `sep` outside parentheses and quotes. */
export function splitTopLevel(s: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = false;
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quote) {
      if (ch === '\\') {
        cur += ch + (s[i + 1] ?? '');
        i++;
        continue;
      }
      if (ch === "'") quote = false;
    } else if (ch === "'") quote = true;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === sep && depth === 0) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  out.push(cur);
  return out;
}
