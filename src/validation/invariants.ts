import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4/index.js';
import type { ElementDefinition } from 'fhir/r4.js';

type Constraint = NonNullable<ElementDefinition['constraint']>[number];
type Compiled = (resource: unknown, env?: Record<string, unknown>) => unknown[];

/**
 * Constraints checked natively instead of through fhirpath.js, and why:
 * - ele-1 (`hasValue() or (children().count() > id.count())`): the generated schema checks it on every
 *   element (non-empty values, objects with more than an id); evaluating it per element would cost more
 *   than the rest of validation.
 * - ext-1 (`extension.exists() != value.exists()`): the same test done directly on the JSON.
 * - txt-1/txt-2 (`htmlChecks()`): fhirpath.js returns an empty result for htmlChecks(); see xhtml.ts.
 * - ref-1 (a '#id' reference names a contained resource): it runs on every Reference, and the official
 *   expression reads %rootResource; the same test is done on the JSON in walker.ts.
 * - dom-3 (contained resources are referenced): fhirpath.js rejects its `descendants().as(canonical)`
 *   (as() on a collection); see contained.ts.
 */
export const NATIVE_CONSTRAINTS = new Set(['ele-1', 'ext-1', 'txt-1', 'txt-2', 'dom-3', 'ref-1']);

/**
 * Functions fhirpath.js cannot run synchronously or lacks: a constraint using one is skipped and
 * listed in `unsupported` (conformsTo, memberOf; resolve() needs other resources and async evaluation).
 */
const UNSUPPORTED_FUNCTIONS = [/\bconformsTo\s*\(/, /\bmemberOf\s*\(/, /\bhtmlChecks\s*\(/, /\bresolve\s*\(/];

/**
 * Constraints whose empty result is a failure. The Java reference validator reads every constraint that
 * way (only `true` passes); fhirpath.js gives empty results in places Java does not, so here it is done
 * only where the expression guards its operands with hasValue(), and an empty result can only mean
 * that the comparison itself is undecidable: per-1 with a start and an end of different precision on
 * the same day (`2023-06-21` and `2023-06-21T06:20:00Z`) is not "start <= end".
 */
const EMPTY_FAILS = new Set(['per-1']);

const TIME_ZONE = /(?:Z|[+-]\d\d:\d\d)$/;

/**
 * Answers for the commonest inputs of a few hot constraints, decided on the JSON without running
 * FHIRPath; `undefined` means "evaluate the expression". Each answer is the one the expression gives.
 */
const SHORTCUTS: Record<string, (node: Record<string, unknown>) => boolean | undefined> = {
  // per-1 `start.hasValue().not() or end.hasValue().not() or (start <= end)`: two values written in the
  // same form (same length, same time zone, or dates) order as their text does.
  'per-1': (node) => {
    const { start, end } = node;
    if (start === undefined || end === undefined) return typeof start === 'string' || typeof end === 'string' || (start === undefined && end === undefined) ? true : undefined;
    if (typeof start !== 'string' || typeof end !== 'string' || start.length !== end.length) return undefined;
    if (start.length <= 10) return start <= end;
    const zone = TIME_ZONE.exec(start)?.[0];
    return zone !== undefined && end.endsWith(zone) && TIME_ZONE.exec(end)?.[0] === zone ? start <= end : undefined;
  },
  // obs-7 `value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()`:
  // true when there are no components, or no value[x].
  'obs-7': (node) => {
    if (node.component === undefined) return true;
    for (const key in node) if (key.startsWith('value') || key.startsWith('_value')) return undefined;
    return true;
  },
};

export interface CompiledConstraint {
  key: string;
  severity: 'error' | 'warning';
  human: string;
  expression: string;
  run(node: unknown, resource: unknown, rootResource: unknown): boolean;
}

const silent = { traceFn: () => undefined } as unknown as Record<string, unknown>;

/** Compiles each (expression, context type) once. */
export class InvariantCompiler {
  private readonly cache = new Map<string, CompiledConstraint | null>();
  readonly unsupported = new Map<string, string>();
  readonly failures = new Map<string, string>();

  compile(c: Constraint, basePath: string): CompiledConstraint | null {
    if (!c.expression || NATIVE_CONSTRAINTS.has(c.key)) return null;
    const cacheKey = `${basePath}\u0000${c.expression}`;
    const hit = this.cache.get(cacheKey);
    if (hit !== undefined) return hit;
    let result: CompiledConstraint | null = null;
    if (UNSUPPORTED_FUNCTIONS.some((re) => re.test(c.expression as string))) {
      this.unsupported.set(c.key, c.expression);
    } else {
      let fn: Compiled | undefined;
      try {
        fn = fhirpath.compile({ base: basePath, expression: c.expression } as never, r4, silent) as unknown as Compiled;
      } catch {
        try {
          fn = fhirpath.compile(c.expression, r4, silent) as unknown as Compiled;
        } catch (err) {
          this.unsupported.set(c.key, `${c.expression} (${(err as Error).message})`);
        }
      }
      if (fn) {
        const compiled = fn;
        const failures = this.failures;
        const emptyFails = EMPTY_FAILS.has(c.key);
        const shortcut = SHORTCUTS[c.key];
        result = {
          key: c.key,
          severity: c.severity === 'warning' ? 'warning' : 'error',
          human: c.human,
          expression: c.expression,
          run(node, resource, rootResource) {
            if (shortcut && node !== null && typeof node === 'object') {
              const known = shortcut(node as Record<string, unknown>);
              if (known !== undefined) return known;
            }
            try {
              const out = compiled(node, { resource, rootResource });
              if (out.length === 0) return !emptyFails;
              return !(out.length === 1 && out[0] === false);
            } catch (err) {
              // A constraint the engine cannot evaluate on this input is not held against the sender.
              // Only the key and the error's first words are kept: messages can quote patient data.
              failures.set(c.key, String((err as Error)?.message ?? err).split(/[,:[{"]/)[0].slice(0, 80));
              return true;
            }
          },
        };
      }
    }
    this.cache.set(cacheKey, result);
    return result;
  }
}
