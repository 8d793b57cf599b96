import { METHODS } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FhirError } from '../fhir/errors.js';
import { VersionConflict } from '../store/port.js';
import { unsupportedBody } from './body-parsers.js';
import { isFhirId } from '../rest/checks.js';
import { responseFormat } from './format.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route serves operations ($name in its last segment) only; see allowedMethods. */
    operationsOnly?: boolean;
  }
}

/**
 * Every 4xx/5xx leaves as an OperationOutcome. A 5xx never shows internals to the client:
 * it carries the request id so the operator can find the logged error.
 */
export function registerErrorHandler(app: FastifyInstance, operationMethods: (name: string) => readonly string[] | undefined = () => undefined): void {
  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    const fe = toFhirError(err, req);
    // A deliberate 5xx (503 while shutting down or past REQUEST_TIMEOUT_MS, a 501) says what happened: no stack to log.
    if (fe.status >= 500 && err !== fe) req.log.error({ err: { type: err.name, message: err.message, stack: err.stack } }, 'request failed');
    else if (fe.status >= 500) req.log.warn({ status: fe.status, code: fe.issues[0]?.code }, 'request not served');
    else req.log.info({ status: fe.status, code: fe.issues[0]?.code }, 'request refused');
    // Already answered (the REQUEST_TIMEOUT_MS timer's 503 went first): the later failure is only logged.
    if (reply.sent) return;
    let contentType = 'application/fhir+json';
    try {
      contentType = responseFormat(req).contentType;
    } catch {
      // keep the default when the Accept/_format is itself the problem
    }
    reply.code(fe.status).headers(fe.headers).header('Content-Type', `${contentType}; charset=utf-8`);
    // RFC 9110 15.5.6: a 405 MUST carry Allow; one raised without it gets the methods the path's routes serve.
    if (fe.status === 405 && !Object.keys(fe.headers).some((h) => h.toLowerCase() === 'allow')) {
      const allow = allowedMethods(routes, req.url.split('?')[0], operationMethods);
      if (allow.length) reply.header('Allow', allow.join(', '));
    }
    return reply.send(JSON.stringify(fe.outcome()));
  });
  // Every route as it is registered (this runs before the routes are), so that a path some route
  // serves with another method answers 405 with Allow (RFC 9110 15.5.6) rather than 404.
  const routes: Route[] = [];
  app.addHook('onRoute', (r) => {
    const operationsOnly = r.config?.operationsOnly === true;
    for (const method of Array.isArray(r.method) ? r.method : [r.method]) routes.push({ method, segments: r.url.split('/').filter(Boolean), operationsOnly });
  });
  // A request the router gave to a route whose parameter cannot hold the segment (POST
  // /fhir/metadata reached POST /fhir/:type, PUT /fhir/Patient/_history reached PUT
  // /fhir/:type/:id) is a method the path's own routes do not serve: 405 with their Allow, as
  // for PATCH /fhir/metadata, not a 404 that contradicts GET.
  // It runs on every request: a route pattern's segments are split once.
  const patternSegments = new Map<string, string[]>();
  app.addHook('onRequest', (req, _reply, done) => {
    const pattern = req.routeOptions.url;
    if (pattern === undefined || !pattern.includes(':')) return done();
    let segments = patternSegments.get(pattern);
    if (!segments) patternSegments.set(pattern, (segments = pattern.split('/').filter(Boolean)));
    const path = req.url.split('?')[0];
    if (paramsFit(segments, path.split('/').filter(Boolean), req.method)) return done();
    const allow = allowedMethods(routes, path, operationMethods);
    if (allow.length === 0 || allow.includes(req.method)) return done();
    done(new FhirError(405, { severity: 'error', code: 'not-supported', diagnostics: `${req.method} is not an interaction at ${path.slice(0, 120)}: it takes ${allow.join(', ')}` }, { Allow: allow.join(', ') }));
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0];
    const allow = allowedMethods(routes, path, operationMethods);
    const fe = allow.length
      ? FhirError.of(405, 'not-supported', `${req.method} is not an interaction at ${path.slice(0, 120)}: it takes ${allow.join(', ')}`)
      : FhirError.of(404, 'not-found', `No FHIR interaction at ${req.method} ${path.slice(0, 120)}`);
    if (allow.length) reply.header('Allow', allow.join(', '));
    reply.code(fe.status).header('Content-Type', 'application/fhir+json; charset=utf-8').send(JSON.stringify(fe.outcome()));
  });
}

/**
 * Fastify's `frameworkErrors`: a URL it cannot decode (a bad %-escape) or a path segment longer
 * than the router takes reaches no route; it is answered like any refused request.
 */
export function frameworkErrors(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  const fe = FhirError.of(status, 'invalid', err.code === 'FST_ERR_BAD_URL' ? 'The URL is not validly percent-encoded' : `The request URL is not accepted: ${err.message.slice(0, 120)}`);
  req.log.info({ status: fe.status, code: fe.issues[0]?.code }, 'request refused');
  reply.code(fe.status).header('Content-Type', 'application/fhir+json; charset=utf-8').send(JSON.stringify(fe.outcome()));
}

/**
 * Node's `clientError`: a request its HTTP parser refused (a raw non-ASCII byte in the URL, a
 * malformed request line, headers over the size limit) or one that timed out. No request
 * exists yet, so the OperationOutcome is written on the socket, which is then closed.
 */
export function clientErrorHandler(err: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const fe =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? FhirError.of(408, 'timeout', 'The request was not received in time')
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? FhirError.of(431, 'too-costly', 'The request headers are larger than this server accepts')
        : FhirError.of(400, 'structure', `The request is not valid HTTP: ${parserProblem(err)}`);
  const body = JSON.stringify(fe.outcome());
  const reason = fe.status === 408 ? 'Request Timeout' : fe.status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${fe.status} ${reason}\r\nContent-Type: application/fhir+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

/** What Node's HTTP parser refused, in words, by its error code (the general text for the rest). */
const PARSER_PROBLEMS: Record<string, string> = {
  HPE_INVALID_URL: 'the URL has a character a URL may not (a raw non-ASCII byte, for example: percent-encode it)',
  HPE_INVALID_VERSION: 'the request line does not end with a valid HTTP version (HTTP/1.1, then CRLF)',
  HPE_INVALID_HEADER_TOKEN: 'a header name or value has a character HTTP does not allow there',
  HPE_INVALID_CONTENT_LENGTH: 'Content-Length is not a valid length',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'Content-Length is not a valid length',
  HPE_INVALID_TRANSFER_ENCODING: 'Transfer-Encoding is not valid (chunked must come last, and not with Content-Length)',
  HPE_INVALID_CHUNK_SIZE: 'the chunked body is malformed',
};

function parserProblem(err: { code?: string; rawPacket?: unknown }): string {
  if (err.code === 'HPE_INVALID_METHOD') {
    // The parser says the same for a known method on a malformed line ('GET' alone): tell them apart.
    const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,20}(?=[ \r\n]|$)/.exec(Buffer.isBuffer(err.rawPacket) ? err.rawPacket.toString('latin1') : '')?.[0];
    if (token && METHODS.includes(token)) return 'the request line is malformed: it is METHOD URL HTTP/1.1';
    return `unknown HTTP method${token ? ` '${token}'` : ''}`;
  }
  return PARSER_PROBLEMS[err.code ?? ''] ?? 'for example a raw non-ASCII byte in the URL: percent-encode it';
}

/** A registered route; `operationsOnly` ones serve a `$name` in their last segment and refuse the rest. */
interface Route {
  method: string;
  segments: string[];
  operationsOnly: boolean;
}

/**
 * What each route parameter can hold: a resource type, an id, a version, a compartment's type (or
 * `*`), or an operation (`$name`). A segment it cannot hold (`metadata`, `_history`, `_search`) is
 * not served by that route, so the Allow of the path leaves the route out.
 */
const operation = (s: string) => s.length > 1 && s.startsWith('$');
const typeName = (s: string) => /^[A-Z][A-Za-z]{0,63}$/.test(s);
/** An operation is invoked with GET or POST (operations.html#invoking; HEAD with GET). */
const OPERATION_METHODS = new Set(['GET', 'HEAD', 'POST']);
const PARAM_FITS: Record<string, (segment: string, method: string) => boolean> = {
  ':type': (s, m) => typeName(s) || (operation(s) && OPERATION_METHODS.has(m)),
  ':id': (s, m) => isFhirId(s) || (operation(s) && OPERATION_METHODS.has(m)),
  ':vid': (s) => /^\d+$/.test(s),
  ':sub': (s, m) => typeName(s) || s === '*' || (operation(s) && OPERATION_METHODS.has(m)),
};

/** Whether the parameters of a route pattern, for `method`, can hold the path's segments (same length assumed). */
function paramsFit(segments: readonly string[], parts: readonly string[], method: string): boolean {
  return segments.every((seg, i) => !seg.startsWith(':') || (PARAM_FITS[seg]?.(parts[i] ?? '', method) ?? true));
}

/**
 * The methods of the routes whose pattern matches the path (`:param` matches one segment it can
 * hold); for an operation, those it answers (`operationMethods`: httpMethodsOf), when it is known.
 */
function allowedMethods(routes: readonly Route[], path: string, operationMethods: (name: string) => readonly string[] | undefined): string[] {
  const parts = path.split('/').filter(Boolean);
  const last = parts[parts.length - 1] ?? '';
  const takes = operation(last) ? operationMethods(last.slice(1)) : undefined;
  if (takes) return [...takes];
  const out = new Set<string>();
  for (const r of routes) {
    if (r.segments.length !== parts.length || r.segments.some((seg, i) => !seg.startsWith(':') && seg !== parts[i])) continue;
    if (!paramsFit(r.segments, parts, r.method)) continue;
    if (r.operationsOnly && !parts[parts.length - 1].startsWith('$')) continue;
    out.add(r.method);
  }
  return [...out].sort();
}

function toFhirError(err: FastifyError | Error, req: FastifyRequest): FhirError {
  if (err instanceof FhirError) return err;
  if (err instanceof VersionConflict) return FhirError.of(409, 'conflict', `${err.message}: the resource changed concurrently, retry`);
  const code = (err as FastifyError).code;
  const status = (err as FastifyError).statusCode;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return FhirError.of(413, 'too-costly', 'The request body is larger than this server accepts (BODY_LIMIT_BYTES)');
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return unsupportedBody(req);
  if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return FhirError.of(400, 'structure', 'The request body is empty');
  if (code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') return FhirError.of(400, 'structure', 'Content-Length does not match the body');
  if (typeof status === 'number' && status >= 400 && status < 500) return FhirError.of(status, 'invalid', err.message);
  return FhirError.of(500, 'exception', `Internal server error (request id ${req.id}); the server log has the details`);
}
