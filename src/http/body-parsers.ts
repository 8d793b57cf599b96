import type { FastifyInstance } from 'fastify';
import { badRequest, FhirError } from '../fhir/errors.js';
import { FHIR_VERSION, otherFhirVersion } from '../fhir/fhir-version.js';
import { bodyText } from './body-encoding.js';

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
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      done(badRequest(`The body is not valid JSON: ${(e as Error).message}`, 'structure'));
    }
  };
  app.addContentTypeParser(['application/fhir+json', 'application/json', 'application/json-patch+json', 'text/json'], { parseAs: 'buffer' }, json);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (req: Req, body: Buffer, done: Done) => {
    try {
      done(null, new URLSearchParams(bodyText(String(req.headers['content-type'] ?? ''), body)));
    } catch (e) {
      done(e as Error);
    }
  });
}
