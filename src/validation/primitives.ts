import type { ElementDefinition, StructureDefinition } from 'fhir/r4.js';
import type { DefinitionRegistry } from './registry.js';
import { daysInMonth } from '../fhir/calendar.js';
import { codeUnit, loneSurrogateAt } from './string-content.js';
import { fhirRegex } from './fhir-regex.js';

const REGEX_EXT = 'http://hl7.org/fhir/StructureDefinition/regex';
/**
 * FHIR caps strings at 1 MB (datatypes.html#string), and so the types derived from string (code,
 * id, markdown). base64Binary has "no specified upper limit": the body limit is ours.
 */
const MAX_STRING_BYTES = 1024 * 1024;

export type JsonType = 'string' | 'number' | 'boolean';

/** Checks one primitive type's lexical rules (the JSON type itself is left to the schema). */
export interface PrimitiveType {
  readonly name: string;
  readonly jsonType: JsonType;
  /**
   * An error message, or undefined when the value is fine. Only called with a value of `jsonType`;
   * a number with the text it was written with (json-decimals.ts), which its lexical rules apply to.
   */
  check(value: string | number | boolean, text?: string): string | undefined;
}

function valueElement(sd: StructureDefinition): ElementDefinition | undefined {
  return sd.snapshot?.element.find((e) => e.path === `${sd.type}.value`);
}

/** Regexes cannot see calendars: 2020-02-30 matches the date pattern but is no date. */
function impossibleDate(value: string): boolean {
  // Days up to 28 exist in every month (the format was checked before): no calendar needed.
  if (value.length >= 10 && (value.charCodeAt(8) <= 49 || (value.charCodeAt(8) === 50 && value.charCodeAt(9) <= 56))) return false;
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  if (!m) return false;
  const day = Number(m[3]);
  return day > daysInMonth(Number(m[1]), Number(m[2]));
}

/** base64 checked by hand: the spec's regex backtracks badly on long invalid input. */
function validBase64(value: string): boolean {
  const s = value.replace(/\s+/g, '');
  return s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
}

function jsonTypeOf(sd: StructureDefinition, registry: DefinitionRegistry): JsonType {
  // FHIR JSON: booleans are JSON booleans; integer, decimal and the types derived from integer are JSON numbers.
  for (const cur of registry.lineage(sd)) {
    if (cur.kind !== 'primitive-type') break;
    const code = valueElement(cur)?.type?.[0]?.code ?? '';
    if (code.endsWith('System.Boolean')) return 'boolean';
    if (code.endsWith('System.Integer') || code.endsWith('System.Decimal')) return 'number';
  }
  return 'string';
}

/** string itself, or a specialisation of it (code, id, markdown). */
function derivesFromString(sd: StructureDefinition, registry: DefinitionRegistry): boolean {
  for (const cur of registry.lineage(sd)) {
    if (cur.kind !== 'primitive-type') return false;
    if (cur.type === 'string') return true;
  }
  return false;
}

export function buildPrimitiveTypes(registry: DefinitionRegistry): Map<string, PrimitiveType> {
  const out = new Map<string, PrimitiveType>();
  for (const [name, sd] of registry.baseByType) {
    if (sd.kind !== 'primitive-type') continue;
    const jsonType = jsonTypeOf(sd, registry);
    const source = valueElement(sd)?.type?.[0]?.extension?.find((e) => e.url === REGEX_EXT)?.valueString;
    const regex = source ? fhirRegex(source) : undefined;
    const isInteger = jsonType === 'number' && !/System\.Decimal$/.test(valueElement(sd)?.type?.[0]?.code ?? '');
    const isDate = name === 'date' || name === 'dateTime' || name === 'instant';
    const capped = derivesFromString(sd, registry);
    out.set(name, {
      name,
      jsonType,
      check(value, text) {
        if (typeof value === 'number') {
          const written = text ?? String(value);
          // A decimal past a double's range (1e400) is valid FHIR that this server cannot hold as a number.
          if (!Number.isFinite(value)) return `The ${name} ${written} is beyond the range of numbers this server holds (about ±1.8e308)`;
          if (isInteger && (!Number.isInteger(value) || value > 2147483647 || value < -2147483648))
            return `Not a valid ${name}: ${written} (a 32-bit integer is required)`;
          // As written: 1.0 or 1e2 is a decimal, not an integer (its value would pass).
          if (regex && !regex.test(written)) return `Not a valid ${name}: ${written}`;
          return undefined;
        }
        if (typeof value === 'boolean') return undefined;
        if (value.length === 0) return `A ${name} value cannot be empty`;
        const lone = loneSurrogateAt(value);
        if (lone >= 0) return `The ${name} value holds a lone surrogate (${codeUnit(value, lone)}) at character ${lone}: it is not a sequence of Unicode characters`;
        if (capped && value.length > MAX_STRING_BYTES / 4 && Buffer.byteLength(value) > MAX_STRING_BYTES)
          return `The ${name} value is longer than the permitted maximum of 1 MB`;
        if (name === 'base64Binary') return validBase64(value) ? undefined : `Not a valid base64 value`;
        if (regex && !regex.test(value)) return `Not a valid ${name} format: '${truncate(value)}'`;
        if (isDate && impossibleDate(value)) return `Not a valid ${name}: '${value}' is not a calendar date`;
        return undefined;
      },
    });
  }
  return out;
}

function truncate(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}...` : value;
}
