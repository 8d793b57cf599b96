import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { issue, type Issue, type Severity } from './issues.js';
import { JAVA_DEFAULT_POLICIES, type ValidationPolicies } from './policies.js';
import type { PrimitiveType } from './primitives.js';
import { SchemaFactory, type ObjectRules, type PathModel } from './schema.js';
import { codeUnit, containsHtmlTags, controlCharacterAt, markdownHtmlAt } from './string-content.js';
import type { DefinitionRegistry } from './registry.js';
import { numberText } from '../fhir/json-decimals.js';

interface FhirError {
  keyword: string;
  message: string;
  params: Record<string, unknown>;
}

function present(data: Record<string, unknown>, prop: string): boolean {
  return data[prop] !== undefined;
}

/** A warning (not a refusal: the spec says SHOULD NOT) when a text value holds a C0 control character. */
function controlCharacterWarning(value: string, errors: FhirError[] | undefined): FhirError[] | undefined {
  const at = controlCharacterAt(value);
  if (at < 0) return errors;
  (errors ??= []).push({
    keyword: 'fhirControl',
    message: `The string value contains a control character (${codeUnit(value, at)}) at character ${at}: FHIR strings should not contain characters below U+0020 other than tab, LF and CR`,
    params: {},
  });
  return errors;
}

/**
 * Structural validation (JSON types, unknown elements, cardinality, choice types, empty values,
 * primitive formats) with ajv over schemas generated from the StructureDefinitions.
 * One validator per resource type, compiled on first use.
 */
/**
 * ajv gathers a sub-schema's or keyword's errors with `vErrors = vErrors.concat(child.errors)`,
 * which copies every error found so far each time one more item fails: validating an array of
 * 40,000 items with one error each took 4 s (quadratic). The generated code is rewritten to
 * append in place, as ajv itself does with the errors it reports directly (`vErrors.push`).
 */
function appendInPlace(code: string): string {
  return code.replace(/vErrors\.concat\(([\w$]+\.errors)\)/g, '(function (a, b) { for (let i = 0; i < b.length; i++) a.push(b[i]); return a; })(vErrors, $1)');
}

export class StructureValidator {
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, ValidateFunction | null>();
  private readonly factory: SchemaFactory;
  /** The policies of the validation running now (validation is synchronous; set by validate()). */
  private policies: ValidationPolicies = JAVA_DEFAULT_POLICIES;

  constructor(registry: DefinitionRegistry, primitives: ReadonlyMap<string, PrimitiveType>) {
    this.factory = new SchemaFactory(registry, primitives);
    // The ajv keyword functions read the current policies through this.
    const self = this;
    this.ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true, validateSchema: false, code: { process: appendInPlace } });
    // The primitive type is looked up once per schema location (ajv "compile" keyword), not per value.
    const primitiveKeyword = (name: string) => {
      const p = primitives.get(name);
      // Narrative xhtml has its own checks (xhtml.ts); text content is only looked at when it holds a '<'.
      const textual = p?.jsonType === 'string' && name !== 'xhtml';
      const validate = function (data: unknown, cxt?: { parentData?: unknown; parentDataProperty?: string | number }): boolean {
        if (data === null || !p || typeof data !== p.jsonType) return true;
        const holder = cxt?.parentData;
        const msg =
          typeof data === 'number' && holder && typeof holder === 'object'
            ? p.check(data, numberText(holder, String(cxt!.parentDataProperty), data))
            : p.check(data as string);
        let errors: FhirError[] | undefined;
        if (msg) errors = [{ keyword: 'fhirPrimitive', message: msg, params: { type: name } }];
        if (textual && (data as string).indexOf('<') >= 0) errors = self.contentErrors(name, data as string, errors);
        if (textual && !msg) errors = controlCharacterWarning(data as string, errors);
        if (!errors) return true;
        (validate as unknown as { errors: FhirError[] }).errors = errors;
        return false;
      };
      return validate;
    };
    this.ajv.addKeyword({ keyword: 'fhirPrimitive', schemaType: 'string', errors: true, compile: primitiveKeyword });
    // Runs on every object of every resource: loops instead of closures and arrays, errors allocated only when found.
    const objectKeyword = function validate(rules: ObjectRules, data: unknown, _schema?: unknown, cxt?: { parentData?: unknown; parentDataProperty?: string | number }): boolean {
      if (typeof data !== 'object' || data === null || Array.isArray(data)) return true;
      const obj = data as Record<string, unknown>;
      let errors: FhirError[] | undefined;
      for (const r of rules.required) {
        let found = false;
        for (const p of r.props) {
          if (present(obj, p)) {
            found = true;
            break;
          }
        }
        if (!found) (errors ??= []).push({ keyword: 'fhirRequired', message: `minimum required = 1, but only found 0`, params: { name: r.name } });
      }
      for (const c of rules.choices) {
        let count = 0;
        for (const p of c.props) if (p.charCodeAt(0) !== 95 && present(obj, p)) count++;
        if (count > 1) {
          const found = c.props.filter((p) => !p.startsWith('_') && present(obj, p));
          (errors ??= []).push({ keyword: 'fhirChoice', message: `only one of ${found.join(', ')} is allowed`, params: { name: c.name, found } });
        }
      }
      if (rules.ele1) {
        // A primitive's `_x` object with only an id is fine beside its value (`"gender": "male", "_gender": {"id": ...}`).
        const key = cxt?.parentDataProperty;
        const holder = cxt?.parentData as Record<string, unknown> | undefined;
        const withValue = typeof key === 'string' && key.startsWith('_') && holder?.[key.slice(1)] != null;
        if (idOnly(obj) && !withValue) (errors ??= []).push({ keyword: 'ele-1', message: 'All FHIR elements must have a @value or children (ele-1)', params: {} });
      }
      if (rules.ext1) {
        let hasValue = false;
        for (const k in obj) {
          if (k.startsWith('value')) {
            hasValue = true;
            break;
          }
        }
        if (present(obj, 'extension') === hasValue)
          (errors ??= []).push({ keyword: 'ext-1', message: 'Must have either extensions or value[x], not both (ext-1)', params: {} });
      }
      for (const p of rules.primitiveArrays) {
        const values = obj[p];
        const elems = obj[`_${p}`];
        if (values === undefined && elems === undefined) continue;
        const msg = misaligned(values, elems);
        if (msg) (errors ??= []).push({ keyword: 'fhirPrimitiveArray', message: `${p}: ${msg} (json.html#primitive)`, params: { name: p } });
        else if (Array.isArray(elems)) {
          // ele-1 of each item: a `_x` item with only an id needs the value beside it.
          for (let i = 0; i < elems.length; i++) {
            const e = elems[i] as Record<string, unknown> | null;
            if (!e || (Array.isArray(values) && values[i] != null)) continue;
            if (idOnly(e)) (errors ??= []).push({ keyword: 'ele-1', message: 'All FHIR elements must have a @value or children (ele-1)', params: { name: p, index: i } });
          }
        }
      }
      if (!errors) return true;
      (validate as unknown as { errors: FhirError[] }).errors = errors;
      return false;
    };
    this.ajv.addKeyword({ keyword: 'fhirObject', schemaType: 'object', errors: true, validate: objectKeyword });
    this.ajv.addSchema(this.factory.typesSchema());
  }

  get paths(): PathModel {
    return this.factory.paths;
  }

  /** The compiled validator of a resource type, or null for an unknown type. */
  private validatorFor(type: string): ValidateFunction | null {
    let fn = this.compiled.get(type);
    if (fn !== undefined) return fn;
    const schema = this.factory.resourceSchema(type);
    fn = schema ? this.ajv.compile(schema) : null;
    this.compiled.set(type, fn);
    return fn;
  }

  knowsType(type: string): boolean {
    return this.validatorFor(type) !== null;
  }

  validate(type: string, resource: unknown, policies: ValidationPolicies = JAVA_DEFAULT_POLICIES): Issue[] {
    const fn = this.validatorFor(type);
    if (!fn) return [issue('error', 'not-supported', type, `Unknown resource type '${type}'`)];
    this.policies = policies;
    if (fn(resource)) return [];
    return (fn.errors ?? []).map((e) => this.toIssue(type, e));
  }

  /** Security and markdown checks on a text value holding a '<' (messages as the Java validator words them). */
  private contentErrors(type: string, value: string, errors: FhirError[] | undefined): FhirError[] | undefined {
    const { securityChecks, htmlInMarkdown } = this.policies;
    if (securityChecks && containsHtmlTags(value))
      (errors ??= []).push({
        keyword: 'fhirContent',
        message: 'The string value contains text that looks like embedded HTML tags, which are not allowed for security reasons in this context',
        params: { severity: 'error' },
      });
    if (type === 'markdown' && htmlInMarkdown !== 'none') {
      const at = markdownHtmlAt(value);
      if (at >= 0)
        (errors ??= []).push({
          keyword: 'fhirContent',
          message: `The markdown contains content that appears to be an embedded HTML tag starting at '${value.slice(at, at + 2)}'. This will (or SHOULD) be escaped by the presentation layer. The content should be checked to confirm that this is the desired behaviour`,
          params: { severity: htmlInMarkdown },
        });
    }
    return errors;
  }

  /** Turns a JSON pointer such as /code/coding/0/system into Condition.code.coding[0].system. */
  toPath(type: string, pointer: string): string {
    let path = type;
    let def: string | undefined = type;
    for (const raw of pointer.split('/').slice(1)) {
      const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      if (/^\d+$/.test(seg)) {
        path += `[${seg}]`;
        continue;
      }
      const entry: { step: string; next?: string } | undefined = def ? this.paths.get(def)?.get(seg) : undefined;
      path += `.${entry?.step ?? seg.replace(/^_/, '')}`;
      def = entry?.next;
    }
    return path;
  }

  private toIssue(type: string, e: ErrorObject): Issue {
    const at = this.toPath(type, e.instancePath);
    const p = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'additionalProperties':
        return issue('error', 'structure', `${at}.${String(p.additionalProperty).replace(/^_/, '')}`, `Unrecognized property '${String(p.additionalProperty)}'`);
      case 'fhirRequired':
        return issue('error', 'required', `${at}.${String(p.name).replace('[x]', '')}`, `${at}.${String(p.name)}: ${e.message}`);
      case 'fhirChoice':
        return issue('error', 'structure', `${at}.${String(p.name).replace('[x]', '')}`, `${String(p.name)}: ${e.message}`);
      case 'fhirPrimitiveArray':
        return issue('error', 'structure', `${at}.${String(p.name)}`, e.message ?? 'misaligned arrays');
      case 'ele-1':
      case 'ext-1':
        return issue('error', 'invariant', p.name === undefined ? at : `${at}.${String(p.name)}[${String(p.index)}]`, e.message ?? 'ele-1');
      case 'fhirPrimitive':
        return issue('error', 'value', at, e.message ?? 'Invalid value');
      case 'fhirContent':
        return issue(p.severity as Severity, 'invalid', at, e.message ?? 'Invalid content');
      case 'fhirControl':
        return issue('warning', 'value', at, e.message ?? 'Control character');
      case 'type':
        return issue('error', 'structure', at, `The property ${at} must be JSON ${Array.isArray(p.type) ? p.type.join(' or ') : String(p.type)}`);
      case 'minItems':
        return issue('error', 'structure', at, 'Array cannot be empty - the property should not be present if it has no values');
      case 'minProperties':
        return issue('error', 'structure', at, 'Object must have some content');
      case 'const':
        return issue('error', 'structure', `${at}.resourceType`, `resourceType must be '${String(p.allowedValue)}'`);
      case 'required':
        return issue('error', 'required', `${at}.${String(p.missingProperty)}`, `Missing property '${String(p.missingProperty)}'`);
      default:
        return issue('error', 'structure', at, e.message ?? e.keyword);
    }
  }
}

/**
 * A repeating primitive's two arrays: `null` stands in for a missing item of one, so the arrays
 * have one length, and no index is null in both (an item with neither value nor id/extensions).
 */
function misaligned(values: unknown, elems: unknown): string | undefined {
  const v = Array.isArray(values) ? values : undefined;
  const e = Array.isArray(elems) ? elems : undefined;
  if (v && e && v.length !== e.length) return `the value array has ${v.length} items and the _ array ${e.length}: they must line up item by item`;
  const n = v?.length ?? e?.length ?? 0;
  for (let i = 0; i < n; i++) {
    if ((v?.[i] ?? null) === null && (e?.[i] ?? null) === null) return `item ${i} is null${v && e ? ' in both arrays' : ''}: it has neither a value nor an id or extensions`;
  }
  return undefined;
}

/** An element holding an id and nothing else (ele-1: it needs a value or children). */
function idOnly(obj: Record<string, unknown>): boolean {
  let any = false;
  for (const k in obj) {
    if (k !== 'id') return false;
    any = true;
  }
  return any;
}
