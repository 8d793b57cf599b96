// A POSTed Parameters body is client JSON that no validator has seen: its shape is checked here,
// once, so that the operations (and the access checks) can read it as the type says it is.
import type { ParametersParameter } from 'fhir/r4.js';
import { referenceTarget } from '../ccm/index.js';
import { badRequest } from '../fhir/errors.js';
import type { OperationCall } from './operation.js';

/** The JSON type each value[x] the server reads must have. */
const VALUE_TYPES: Record<string, 'string' | 'boolean' | 'number' | 'integer'> = {
  valueString: 'string',
  valueCode: 'string',
  valueId: 'string',
  valueUri: 'string',
  valueUrl: 'string',
  valueCanonical: 'string',
  valueDate: 'string',
  valueDateTime: 'string',
  valueInstant: 'string',
  valueBoolean: 'boolean',
  valueDecimal: 'number',
  valueInteger: 'integer',
  valuePositiveInt: 'integer',
  valueUnsignedInt: 'integer',
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkList(list: unknown, where: string): ParametersParameter[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw badRequest(`${where} must be an array`, 'structure', where);
  list.forEach((p: unknown, i) => {
    const at = `${where}[${i}]`;
    if (!isRecord(p)) throw badRequest(`${at} must be an object`, 'structure', at);
    if (typeof p.name !== 'string' || p.name === '') throw badRequest(`${at}.name must be a non-empty string`, 'structure', `${at}.name`);
    for (const [key, type] of Object.entries(VALUE_TYPES)) {
      const v = p[key];
      if (v === undefined) continue;
      const ok = type === 'integer' ? Number.isInteger(v) : typeof v === type;
      if (!ok) throw badRequest(`${at}.${key} (parameter '${p.name.slice(0, 60)}') must be a JSON ${type === 'integer' ? 'integer' : type}`, 'value', `${at}.${key}`);
    }
    const ref = p.valueReference;
    if (ref !== undefined && !isRecord(ref)) throw badRequest(`${at}.valueReference (parameter '${p.name.slice(0, 60)}') must be an object`, 'value', `${at}.valueReference`);
    if (ref !== undefined && ref.reference !== undefined && typeof ref.reference !== 'string') {
      throw badRequest(`${at}.valueReference.reference (parameter '${p.name.slice(0, 60)}') must be a string`, 'value', `${at}.valueReference.reference`);
    }
    checkList(p.part, `${at}.part`);
  });
  return list as ParametersParameter[];
}

/** The parameters of a Parameters body (a JSON object), refused (400 naming the part) unless shaped as FHIR says. */
export function checkedParameters(body: Record<string, unknown>): ParametersParameter[] {
  return checkList(body.parameter, 'Parameters.parameter');
}

/**
 * A parameter's value as the operations read it: the first string form (valueString, valueCode,
 * valueDate, valueInstant, valueUri, valueId), an integer or boolean as text, else a reference; undefined when
 * none is given. The access checks read `patient` with it too, so they see what the operation sees.
 */
export function parameterValue(p: ParametersParameter): string | undefined {
  const v = p.valueString ?? p.valueCode ?? p.valueDate ?? p.valueInstant ?? p.valueUri ?? p.valueId;
  if (v !== undefined) return v;
  if (p.valueInteger !== undefined) return String(p.valueInteger);
  if (p.valueBoolean !== undefined) return String(p.valueBoolean);
  if (p.valueReference?.reference !== undefined) return p.valueReference.reference;
  return undefined;
}

/** The Patient id a `patient` value names (`id`, `Patient/id`, absolute or versioned); undefined when it names no Patient. */
export function patientIdOf(value: string): string | undefined {
  const target = referenceTarget({ reference: value.includes('/') ? value : `Patient/${value}` });
  return target?.startsWith('Patient/') ? target.slice('Patient/'.length) : undefined;
}

/**
 * An operation's inputs as [name, value, where] in order: its query parameters, then (POST) the
 * parameters of its Parameters body; `where` names the body part, for the 400 that refuses it.
 */
export function operationInputs(call: OperationCall): Array<[name: string, value: string, where: string]> {
  const pairs: Array<[string, string, string]> = call.query.map(([k, v]) => [k, v, k]);
  if (call.method === 'POST' && call.body !== undefined && call.body !== null && !(isRecord(call.body) && Object.keys(call.body).length === 0)) {
    if (!isRecord(call.body) || call.body.resourceType !== 'Parameters') throw badRequest('The body must be a Parameters resource', 'structure');
    for (const [i, p] of checkedParameters(call.body).entries()) {
      const v = parameterValue(p);
      const where = `Parameters.parameter[${i}]`;
      if (v === undefined) throw badRequest(`Parameter '${p.name}' has no value`, 'required', where);
      pairs.push([p.name, v, where]);
    }
  }
  return pairs;
}
