import type { FastifyRequest } from 'fastify';
import { FhirError } from '../fhir/errors.js';
import { FHIR_VERSION, otherFhirVersion } from '../fhir/fhir-version.js';
import { mediaType, parseAccept, weightOf, type MediaRange } from './accept.js';
import { queryOf } from './request-query.js';

export interface ResponseFormat {
  contentType: string;
  pretty: boolean;
}

const JSON_TYPES = new Set(['json', 'application/json', 'application/fhir+json', 'application/json+fhir', 'text/json']);
/** The names Accept may give the FHIR JSON representation (application/fhir+json) and plain JSON (application/json). */
const FHIR_JSON_NAMES = ['application/fhir+json', 'application/json+fhir', 'text/json'];
const PLAIN_JSON_NAMES = ['application/json'];

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
  const ranges = accept ? parseAccept(accept) : [];
  if (ranges.length === 0) return { contentType: 'application/fhir+json', pretty };
  // Server-driven negotiation (RFC 9110 12.5.1): each representation has the weight of the most
  // specific range that matches it, q=0 is "not acceptable", and the higher weight wins; on a tie,
  // the one named rather than admitted by a wildcard (application/json, */* gets plain JSON), then
  // FHIR JSON. A range naming another FHIR version matches neither.
  const fits = (r: MediaRange) => !otherFhirVersion(r.text);
  const fhir = weightOf(ranges, FHIR_JSON_NAMES, fits);
  const plain = weightOf(ranges, PLAIN_JSON_NAMES, fits);
  const best = plain.q > fhir.q || (plain.q === fhir.q && plain.specificity > fhir.specificity) ? { ...plain, contentType: 'application/json' } : { ...fhir, contentType: 'application/fhir+json' };
  if (best.q > 0) return { contentType: best.contentType, pretty };
  if (ranges.some((r) => !fits(r) && (JSON_TYPES.has(r.type) || r.type === '*/*' || r.type === 'application/*'))) throw otherVersion(`Accept '${accept!.slice(0, 80)}'`);
  throw FhirError.of(406, 'not-supported', `Accept '${accept!.slice(0, 60)}' cannot be served: this server returns application/fhir+json (or application/json) only, and a range with q=0 is not acceptable`);
}

const otherVersion = (what: string) =>
  FhirError.of(406, 'not-supported', `${what} asks for another FHIR version: this server speaks FHIR ${FHIR_VERSION} (R4) only`);
