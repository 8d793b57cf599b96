import type { OperationOutcome, OperationOutcomeIssue, ParametersParameter } from 'fhir/r4.js';
import { FhirError } from '../fhir/errors.js';
import type { RestResult } from '../rest/result.js';
import type { Operation } from './operation.js';
import { checkedParameters } from './parameters-shape.js';

/** What $validate needs from the validator. */
export interface ValidateOperationValidator {
  validate(resource: unknown, opts?: { profiles?: string[] }): OperationOutcomeIssue[];
  knowsProfile(url: string): boolean;
}

export interface ValidateInput {
  /** The [type] of `POST [type]/$validate` or `POST [type]/[id]/$validate`. */
  type: string;
  id?: string;
  /** The request body: the resource itself, or Parameters with resource/mode/profile. */
  body: unknown;
  /** Query parameters (`profile`, `mode`) in order. */
  query?: Array<[string, string]>;
}

export type ValidateMode = 'create' | 'update' | 'delete';

export interface ValidateResult {
  status: number;
  outcome: OperationOutcome;
}

const MODES = new Set<string>(['create', 'update', 'delete']);

function outcome(issues: OperationOutcomeIssue[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: issues.length ? issues : [{ severity: 'information', code: 'informational', diagnostics: 'Validation successful: no issues found' }],
  };
}

function badRequest(code: OperationOutcomeIssue['code'], diagnostics: string, expression?: string): ValidateResult {
  return { status: 400, outcome: outcome([{ severity: 'error', code, diagnostics, ...(expression ? { expression: [expression] } : {}) }]) };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface Parsed {
  resource?: unknown;
  mode?: string;
  profiles: string[];
}

/** Reads the Parameters form: resource, mode (code) and profile (uri/canonical) parameters. */
function parseBody(type: string, body: unknown): Parsed | ValidateResult {
  if (isRecord(body) && body.resourceType === 'Parameters' && type !== 'Parameters') {
    let params: ParametersParameter[];
    try {
      params = checkedParameters(body);
    } catch (err) {
      // A pure function: the malformed body is a 400 result like the other refusals here.
      if (err instanceof FhirError) return { status: err.status, outcome: err.outcome() };
      throw err;
    }
    const parsed: Parsed = { profiles: [] };
    for (const [i, p] of params.entries()) {
      if (p.name === 'resource') parsed.resource = p.resource;
      else if (p.name === 'mode') parsed.mode = p.valueCode ?? p.valueString;
      else if (p.name === 'profile') {
        const url = p.valueUri ?? p.valueCanonical ?? p.valueString;
        if (url) parsed.profiles.push(url);
      } else return badRequest('not-supported', `Unknown $validate parameter '${p.name}'`, `Parameters.parameter[${i}]`);
    }
    return parsed;
  }
  return { resource: body, profiles: [] };
}

/**
 * The $validate operation as a pure function: parses the input (resource or Parameters, plus the
 * `profile` and `mode` query parameters) and returns the HTTP status and OperationOutcome.
 * A request that cannot be understood is 400; a resource with errors is still 200 with error issues.
 */
export function runValidateOperation(validator: ValidateOperationValidator, input: ValidateInput): ValidateResult {
  const parsed = parseBody(input.type, input.body);
  if ('status' in parsed) return parsed;
  for (const [name, value] of input.query ?? []) {
    if (name === 'profile') parsed.profiles.push(value);
    else if (name === 'mode') parsed.mode ??= value;
    else return badRequest('not-supported', `Unknown parameter '${name.slice(0, 60)}' for $validate (profile, mode)`, name.slice(0, 60));
  }
  const mode = parsed.mode;
  if (mode !== undefined && !MODES.has(mode)) return badRequest('value', `Unknown $validate mode '${mode}' (create, update or delete)`);
  if (mode === 'delete') {
    if (!input.id) return badRequest('required', 'mode=delete needs an instance: POST [type]/[id]/$validate');
    // Deletes are not restricted by referential integrity on this server.
    return { status: 200, outcome: outcome([]) };
  }
  const resource = parsed.resource;
  if (!isRecord(resource)) return badRequest('required', 'No resource to validate: send the resource, or Parameters with a "resource" parameter');
  if (resource.resourceType !== input.type)
    return badRequest('invalid', `The resource is a ${String(resource.resourceType)}, but the request is for ${input.type}`, 'resourceType');
  for (const url of parsed.profiles) {
    if (!validator.knowsProfile(url)) return badRequest('not-found', `Profile ${url} is not known to this server`);
  }
  const issues: OperationOutcomeIssue[] = [];
  if (mode === 'update' || input.id) {
    const id = typeof resource.id === "string" ? resource.id : undefined;
    if (!id) issues.push({ severity: 'error', code: 'required', diagnostics: 'An update needs the resource id', expression: [`${input.type}.id`] });
    else if (input.id && id !== input.id)
      issues.push({ severity: 'error', code: 'invalid', diagnostics: `The resource id '${id}' does not match the URL id '${input.id}'`, expression: [`${input.type}.id`] });
  }
  issues.push(...validator.validate(resource, { profiles: parsed.profiles }));
  return { status: 200, outcome: outcome(issues) };
}

/** `POST [type]/$validate` and `POST [type]/[id]/$validate`, for the lead to register. */
export const validateOperation: Operation = {
  name: 'validate',
  definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate',
  types: ['*'],
  typeLevel: true,
  instanceLevel: true,
  methods: ['POST'],
  async run(s, call): Promise<RestResult> {
    if (!s.validator || !call.type) {
      return { status: 501, body: outcome([{ severity: 'error', code: 'not-supported', diagnostics: 'Validation is turned off on this server' }]) };
    }
    const result = runValidateOperation(s.validator, { type: call.type, id: call.id, body: call.body, query: call.query });
    return { status: result.status, body: result.outcome };
  },
};
