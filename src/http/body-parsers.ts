import type { FastifyInstance } from 'fastify';
import { badRequest } from '../fhir/errors.js';

/**
 * FHIR JSON, plain JSON and JSON Patch bodies are parsed here so that malformed JSON becomes a
 * 400 OperationOutcome that says where the syntax broke; form bodies serve POST _search.
 */
export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  const json = (_req: unknown, body: string, done: (err: Error | null, value?: unknown) => void) => {
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
