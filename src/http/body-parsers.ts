import type { FastifyInstance } from 'fastify';
import { badRequest, FhirError } from '../fhir/errors.js';
import { FHIR_VERSION, otherFhirVersion } from '../fhir/fhir-version.js';

/**
 * FHIR JSON, plain JSON and JSON Patch bodies are parsed here so that malformed JSON becomes a
 * 400 OperationOutcome that says where the syntax broke; form bodies serve POST _search.
 */
export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  const json = (req: { headers: Record<string, string | string[] | undefined> }, body: string, done: (err: Error | null, value?: unknown) => void) => {
    const type = String(req.headers['content-type'] ?? '');
    if (otherFhirVersion(type)) return done(FhirError.of(415, 'not-supported', `Content-Type '${type.slice(0, 80)}' is another FHIR version: this server takes FHIR ${FHIR_VERSION} (R4) only`));
    if (body.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(body));
    } catch (e) {
      done(badRequest(`The body is not valid JSON: ${(e as Error).message}`, 'structure'));
    }
  };
  app.addContentTypeParser(['application/fhir+json', 'application/json', 'application/json-patch+json', 'text/json'], { parseAs: 'string' }, json);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, new URLSearchParams(body as string));
  });
}
