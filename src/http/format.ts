import type { FastifyRequest } from 'fastify';
import { FhirError } from '../fhir/errors.js';
import { FHIR_VERSION, otherFhirVersion } from '../fhir/fhir-version.js';
import { queryOf } from './request-query.js';

export interface ResponseFormat {
  contentType: string;
  pretty: boolean;
}

const JSON_TYPES = new Set(['json', 'application/json', 'application/fhir+json', 'application/json+fhir', 'text/json']);
const XML_TYPES = new Set(['xml', 'application/xml', 'application/fhir+xml', 'application/xml+fhir', 'text/xml', 'html', 'text/html', 'ttl', 'application/x-turtle']);

/** http.html#mime-type: _format overrides Accept; this server speaks JSON only. */
export function responseFormat(req: FastifyRequest): ResponseFormat {
  const q = queryOf(req);
  const fmt = q.get('_format') ?? undefined;
  const pretty = q.get('_pretty') === 'true';
  if (fmt !== undefined) {
    const f = fmt.split(';')[0].trim().toLowerCase();
    if (JSON_TYPES.has(f) && otherFhirVersion(fmt)) throw otherVersion(`_format '${fmt.slice(0, 60)}'`);
    if (JSON_TYPES.has(f)) return { contentType: f === 'application/json' || f === 'json' ? 'application/fhir+json' : 'application/fhir+json', pretty };
    throw FhirError.of(406, 'not-supported', `_format '${fmt.slice(0, 40)}' is not supported: this server returns FHIR JSON only (_format=json)`);
  }
  const accept = req.headers.accept;
  if (accept) {
    // Ranges naming another FHIR version cannot be served, whatever their type.
    const ranges = accept.split(',');
    const served = ranges.filter((r) => !otherFhirVersion(r));
    const types = served.map((t) => t.split(';')[0].trim().toLowerCase());
    const ok = types.some((t) => JSON_TYPES.has(t) || t === '*/*' || t === 'application/*' || t === '');
    if (!ok && served.length < ranges.length) throw otherVersion(`Accept '${accept.slice(0, 80)}'`);
    if (!ok && types.every((t) => XML_TYPES.has(t) || t.length > 0)) {
      throw FhirError.of(406, 'not-supported', `Accept '${accept.slice(0, 60)}' cannot be served: this server returns application/fhir+json only`);
    }
    if (types.includes('application/json') && !types.includes('application/fhir+json')) return { contentType: 'application/json', pretty };
  }
  return { contentType: 'application/fhir+json', pretty };
}

const otherVersion = (what: string) =>
  FhirError.of(406, 'not-supported', `${what} asks for another FHIR version: this server speaks FHIR ${FHIR_VERSION} (R4) only`);
