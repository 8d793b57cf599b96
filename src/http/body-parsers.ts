import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest, FhirError } from '../fhir/errors.js';
import { FHIR_VERSION, otherFhirVersion } from '../fhir/fhir-version.js';
import { bodyText } from './body-encoding.js';
import { hasDuplicateKeys } from '../fhir/duplicate-keys.js';
import { parseJson } from '../fhir/json-decimals.js';
import { NativeContent, writesBinary } from './binary-native.js';

type Done = (err: Error | null, value?: unknown) => void;
type Req = { headers: Record<string, string | string[] | undefined> };

/**
 * FHIR JSON, plain JSON and JSON Patch bodies are parsed here so that malformed JSON becomes a
 * 400 OperationOutcome that says where the syntax broke; form bodies serve POST _search.
 * Bodies arrive as bytes so that the charset and UTF-8 are checked, not replaced (body-encoding.ts).
 */
export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  const json = (req: Req, body: Buffer, done: Done) => {
    const type = String(req.headers['content-type'] ?? '');
    if (otherFhirVersion(type)) return done(FhirError.of(415, 'not-supported', `Content-Type '${type.slice(0, 80)}' is another FHIR version: this server takes FHIR ${FHIR_VERSION} (R4) only`));
    let text: string;
    try {
      text = bodyText(type, body);
    } catch (e) {
      return done(e as Error);
    }
    if (text.length === 0) return done(null, undefined);
    let parsed: unknown;
    try {
      parsed = parseJson(text);
    } catch (e) {
      return done(badRequest(`The body is not valid JSON: ${(e as Error).message}`, 'structure'));
    }
    // RFC 8259 leaves repeated names to the parser; FHIR JSON has each property once, and which value was meant is unknown.
    if (hasDuplicateKeys(text, parsed)) return done(badRequest('The body repeats a property name within one JSON object: each property may appear once', 'structure'));
    done(null, parsed);
  };
  app.addContentTypeParser(['application/fhir+json', 'application/json', 'application/json-patch+json', 'text/json'], { parseAs: 'buffer' }, json);
  // Any other type is the content of a Binary where one is created or updated (binary.html#rest), and refused elsewhere.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
    const type = req.headers['content-type'];
    if (!writesBinary(req) || !type) return done(unsupportedBody(req));
    done(null, new NativeContent(type, body as Buffer));
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (req, body, done) => {
    // Only routes that take a form get one (a form is no resource); a path no route serves answers 404/405 as usual.
    if (!req.routeOptions.config?.formBody && !req.is404) {
      return done(FhirError.of(415, 'not-supported', `${req.method} ${req.url.split('?')[0].slice(0, 80)} does not take a form body (only _search does): send ${req.method === 'PATCH' ? 'application/json-patch+json' : 'application/fhir+json'}`));
    }
    try {
      done(null, new URLSearchParams(bodyText(String(req.headers['content-type'] ?? ''), body as Buffer)));
    } catch (e) {
      done(e as Error);
    }
  });
  // Codings are not decoded: the raw bytes would be read as the body (RFC 9110 8.4.1: 415, saying what is accepted).
  app.addHook('preParsing', (req, _reply, payload, done) => {
    const coding = req.headers['content-encoding'];
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
    if (coding === undefined || !hasBody || coding.split(',').every((c) => ['identity', ''].includes(c.trim().toLowerCase()))) return done(null, payload);
    done(new FhirError(415, { severity: 'error', code: 'not-supported', diagnostics: `Content-Encoding '${coding.slice(0, 40)}' is not supported: send the body unencoded` }, { 'Accept-Encoding': 'identity' }));
  });
}

/** The 415 text for a body a form-taking route cannot read. */
export const FORM_BODY_ONLY = 'POST _search takes an application/x-www-form-urlencoded body';

/** The 415 for a body this route cannot read, saying what it takes. */
export function unsupportedBody(req: FastifyRequest): FhirError {
  const ct = req.headers['content-type'];
  const got = ct ? `Content-Type '${ct.slice(0, 60)}' is not supported` : 'The body has no Content-Type';
  // The type to send is the one this route takes: a form for _search, content or FHIR JSON for a Binary, FHIR JSON elsewhere.
  if (req.routeOptions.config?.formBody) return FhirError.of(415, 'not-supported', `${got}: ${FORM_BODY_ONLY}`);
  if (writesBinary(req)) return FhirError.of(415, 'not-supported', `${got}: send the content with its Content-Type, or a Binary resource as application/fhir+json`);
  return FhirError.of(415, 'not-supported', `${got}: send application/fhir+json (or application/json-patch+json for PATCH)`);
}

/** The form body of a POST _search (none: no parameters). */
export function formOf(req: { body?: unknown }): URLSearchParams {
  if (req.body === undefined) return new URLSearchParams();
  if (!(req.body instanceof URLSearchParams)) throw FhirError.of(415, 'not-supported', FORM_BODY_ONLY);
  return req.body;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes an application/x-www-form-urlencoded body (_search, the token endpoint). */
    formBody?: boolean;
  }
}
