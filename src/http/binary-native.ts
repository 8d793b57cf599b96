import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Binary } from 'fhir/r4.js';
import { etagOf } from '../rest/etag.js';
import type { StoredVersion } from '../store/port.js';
import { otherFhirVersion } from '../fhir/fhir-version.js';
import { mediaType, parseAccept, weightOf } from './accept.js';
import { queryOf } from './request-query.js';

/**
 * Binary on the REST API (binary.html#rest): a read that does not ask for a FHIR format gets the
 * content itself, typed as Binary.contentType; a create or update whose body is not FHIR JSON
 * stores that body as the content of a Binary.
 */

/** Media types that ask for the FHIR representation of a Binary by name. */
const FHIR_TYPES = new Set(['application/fhir+json', 'application/json+fhir', 'application/fhir+xml', 'application/xml+fhir']);

/** What a field value may hold on the wire (RFC 9110 5.5): no control characters, no non-ASCII. */
const HEADER_SAFE = /^[\x20-\x7e]+$/;

/**
 * How a read of a Binary with this content type answers: `native` (the content) or `fhir` (the
 * resource, in the format responseFormat negotiates). With `_format`, `fhir`. Otherwise by the
 * weights of Accept (RFC 9110 12.5.1, the parser format.ts uses): the content's weight is that of
 * the most specific range matching its type (`application/pdf;q=0, *\/*` refuses PDF; no Accept
 * admits all); the resource counts only where a FHIR type is named, as "unless specifically
 * requested, the FHIR XML/JSON representation is not returned". The higher weight wins, the
 * resource on a tie (it was named); a q=0 range is not acceptable, so `application/fhir+json;q=0,
 * application/pdf` gets the PDF. When neither is acceptable, `fhir` (responseFormat then serves
 * application/json or refuses with a 406). A content type that cannot be a header value is never
 * served as such.
 */
export function binaryAnswer(req: FastifyRequest, contentType: string | undefined): 'native' | 'fhir' {
  if (!contentType || !HEADER_SAFE.test(contentType) || queryOf(req).get('_format') !== null) return 'fhir';
  const given = parseAccept(req.headers.accept ?? '');
  const ranges = given.length ? given : parseAccept('*/*');
  const native = weightOf(ranges, [mediaType(contentType)]).q;
  const fhir = weightOf(ranges, [...FHIR_TYPES], (r) => FHIR_TYPES.has(r.type) && !otherFhirVersion(r.text)).q;
  if (fhir > 0 && fhir >= native) return 'fhir';
  return native > 0 ? 'native' : 'fhir';
}

/** The content of a Binary version, with the headers binary.html#rest lists. */
export function sendNativeBinary(reply: FastifyReply, v: StoredVersion, b: Binary, status: number): FastifyReply {
  reply.code(status);
  reply.header('ETag', etagOf(v.vid));
  reply.header('Last-Modified', new Date(v.lu).toUTCString());
  reply.header('Content-Type', b.contentType);
  const context = b.securityContext?.reference;
  if (context && HEADER_SAFE.test(context)) reply.header('X-Security-Context', context);
  // Stored content of any type, served from the API's origin: never sniffed, never run as a page.
  reply.header('X-Content-Type-Options', 'nosniff');
  reply.header('Content-Security-Policy', 'sandbox');
  if (status === 304) return reply.send();
  return reply.send(b.data === undefined ? Buffer.alloc(0) : Buffer.from(b.data, 'base64'));
}

/** A create or update body that is not FHIR JSON: the content of a Binary. */
export class NativeContent {
  constructor(
    readonly contentType: string,
    readonly bytes: Buffer,
  ) {}

  /** The Binary it stores (binary.html#rest: "the data is accepted as is"); X-Security-Context gives securityContext. */
  binary(id: string | undefined, securityContext: string | undefined): Binary {
    return {
      resourceType: 'Binary',
      ...(id !== undefined ? { id } : {}),
      contentType: this.contentType,
      ...(securityContext ? { securityContext: { reference: securityContext } } : {}),
      ...(this.bytes.length > 0 ? { data: this.bytes.toString('base64') } : {}),
    };
  }
}

/** Whether a request creates or updates a Binary (POST [base]/Binary, PUT [base]/Binary/[id]), where any body is content. */
export function writesBinary(req: FastifyRequest): boolean {
  const params = req.params as Record<string, string> | undefined;
  if (params?.type !== 'Binary') return false;
  return (req.method === 'POST' && params.id === undefined) || (req.method === 'PUT' && params.id !== undefined && !params.id.startsWith('$'));
}
