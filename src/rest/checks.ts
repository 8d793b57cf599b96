import type { Resource } from 'fhir/r4.js';
import { badRequest, FhirError } from '../fhir/errors.js';
import type { Services } from './services.js';

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** Whether a string is a FHIR id (datatypes.html#id). */
export const isFhirId = (s: string): boolean => ID.test(s);

export function assertKnownType(s: Services, type: string): void {
  if (!s.resourceTypes.has(type)) {
    throw FhirError.of(404, 'not-supported', `Unknown resource type '${type.slice(0, 64)}': this server supports the ${s.resourceTypes.size} FHIR R4 resource types`);
  }
}

export function assertId(id: string, where = 'id'): void {
  if (!ID.test(id)) throw badRequest(`Invalid ${where} '${id.slice(0, 80)}': a FHIR id is 1-64 characters of A-Z a-z 0-9 - .`, 'value');
}

export function assertVersionId(vid: string): number {
  if (!/^[1-9]\d{0,9}$/.test(vid)) throw FhirError.of(404, 'not-found', `Unknown version id '${vid.slice(0, 20)}'`);
  return Number(vid);
}

/** The body must be a resource of the type the URL names. */
export function assertResourceBody(body: unknown, type: string, where = 'Resource'): Resource {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest(`The request body must be a FHIR ${type} resource in JSON`, 'structure', where);
  }
  const { resourceType: rt, id } = body as { resourceType?: unknown; id?: unknown };
  if (rt === undefined) throw badRequest(`The body has no resourceType: expected '${type}'`, 'structure', where + '.resourceType');
  if (typeof rt !== 'string') throw badRequest(`resourceType must be a JSON string ('${type}'), not ${jsonKind(rt)}`, 'structure', where + '.resourceType');
  if (rt !== type) throw badRequest(`resourceType '${rt.slice(0, 64)}' does not match the URL's type '${type}'`, 'invalid', where + '.resourceType');
  // Checked here so no later comparison or message sees a number as if it were the id.
  if (id !== undefined && typeof id !== 'string') throw badRequest(`The ${type} id must be a JSON string, not ${jsonKind(id)}`, 'structure', where + '.id');
  return body as Resource;
}

/** The JSON type of a value, for messages. */
const jsonKind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v} (${String(v).slice(0, 40)})`);
