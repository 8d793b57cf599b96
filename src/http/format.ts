import type { FastifyRequest } from 'fastify';
import { FhirError } from '../fhir/errors.js';
import { FHIR_VERSION, otherFhirVersion } from '../fhir/fhir-version.js';
import { queryOf } from './request-query.js';

export interface ResponseFormat {
  contentType: string;
  pretty: boolean;
}

const JSON_TYPES = new Set(['json', 'application/json', 'application/fhir+json', 'application/json+fhir', 'text/json']);
/** Ranges of Accept that JSON satisfies besides the JSON types themselves. */
const ANY = new Set(['*/*', 'application/*', '']);

/** http.html#mime-type: _format overrides Accept; this server speaks JSON only. */
export function responseFormat(req: FastifyRequest): ResponseFormat {
  const q = queryOf(req);
  const fmt = q.get('_format') ?? undefined;
  const pretty = q.get('_pretty') === 'true';
  if (fmt !== undefined) {
    if (!JSON_TYPES.has(mediaType(fmt))) {
      throw FhirError.of(406, 'not-supported', `_format '${fmt.slice(0, 40)}' is not supported: this server returns FHIR JSON only (_format=json)`);
    }
    if (otherFhirVersion(fmt)) throw otherVersion(`_format '${fmt.slice(0, 60)}'`);
    return { contentType: 'application/fhir+json', pretty };
  }
  const accept = req.headers.accept;
  if (!accept) return { contentType: 'application/fhir+json', pretty };
  // Each range read once: its type, and whether it names another FHIR version (then it cannot be served).
  let servable = false;
  let otherVersionAsked = false;
  let plainJson = false;
  let fhirJson = false;
  for (const range of accept.split(',')) {
    const type = mediaType(range);
    if (!JSON_TYPES.has(type) && !ANY.has(type)) continue;
    if (otherFhirVersion(range)) {
      otherVersionAsked = true;
      continue;
    }
    servable = true;
    plainJson ||= type === 'application/json';
    fhirJson ||= type === 'application/fhir+json';
  }
  if (!servable && otherVersionAsked) throw otherVersion(`Accept '${accept.slice(0, 80)}'`);
  if (!servable) throw FhirError.of(406, 'not-supported', `Accept '${accept.slice(0, 60)}' cannot be served: this server returns application/fhir+json only`);
  return { contentType: plainJson && !fhirJson ? 'application/json' : 'application/fhir+json', pretty };
}

/** The type of a media type or range, lower case, without its parameters. */
const mediaType = (range: string) => {
  const semi = range.indexOf(';');
  return (semi < 0 ? range : range.slice(0, semi)).trim().toLowerCase();
};

const otherVersion = (what: string) =>
  FhirError.of(406, 'not-supported', `${what} asks for another FHIR version: this server speaks FHIR ${FHIR_VERSION} (R4) only`);
