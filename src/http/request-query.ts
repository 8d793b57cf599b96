import type { FastifyRequest } from 'fastify';

/**
 * Fastify's query string parser (app.ts): the query parsed once per request, as the FHIR layers
 * read it (URLSearchParams: repeated names kept in order). Format, security, audit and search
 * all read this one object; each used to parse the URL again.
 */
export const parseRequestQuery = (query: string): Record<string, unknown> =>
  // Typed as Fastify types a parsed query; queryOf is how it is read.
  new URLSearchParams(query) as unknown as Record<string, unknown>;

/** The request's query, parsed once by parseRequestQuery (here for a request no route matched, whose query Fastify leaves unparsed). */
export function queryOf(req: FastifyRequest): URLSearchParams {
  const q = req.query as unknown;
  if (q instanceof URLSearchParams) return q;
  const i = req.url.indexOf('?');
  const parsed = new URLSearchParams(i < 0 ? '' : req.url.slice(i + 1));
  (req as { query: unknown }).query = parsed;
  return parsed;
}

/**
 * Whether a raw query string is validly percent-encoded: every `%` starts a two-hex-digit escape
 * and the escapes decode to UTF-8. URLSearchParams (above) is lenient: it keeps `%zz` as text and
 * turns bytes that are not UTF-8 into U+FFFD, so a search or a condition would silently run on
 * another value than the client meant. The README promises a 400 for such a URL.
 */
export function isValidlyPercentEncoded(query: string): boolean {
  if (!query.includes('%')) return true;
  if (/%(?![0-9A-Fa-f]{2})/.test(query)) return false;
  for (const part of query.split(/[&=]/)) {
    try {
      decodeURIComponent(part.replace(/\+/g, ' '));
    } catch {
      return false;
    }
  }
  return true;
}
