import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Binary } from 'fhir/r4.js';
import { badRequest, FhirError } from '../fhir/errors.js';
import { httpMethodsOf, type Operation } from '../operations/operation.js';
import { processBundle } from '../rest/bundle.js';
import { Capabilities } from '../rest/capabilities.js';
import { assertId, assertKnownType } from '../rest/checks.js';
import { ifNoneMatchHits, notModified as notModifiedBy } from '../rest/etag.js';
import { history } from '../rest/history.js';
import * as rest from '../rest/interactions.js';
import { FORMAT_PARAMS } from '../rest/query-params.js';
import type { RestResult } from '../rest/result.js';
import type { Services } from '../rest/services.js';
import { formOf } from './body-parsers.js';
import { parsePrefer } from './prefer.js';
import { ElementFilter } from '../search/summary.js';
import { sendResult, shapedRead } from './render.js';
import { responseFormat } from './format.js';
import { binaryAnswer, NativeContent, sendNativeBinary } from './binary-native.js';
import { queryOf } from './request-query.js';

type Req = FastifyRequest<{ Params: Record<string, string> }>;

const rawQuery = (req: FastifyRequest) => {
  const i = req.url.indexOf('?');
  return i < 0 ? '' : req.url.slice(i + 1);
};
/** A parsed query as search pairs, without the format parameters. */
const searchPairs = (query: URLSearchParams): Array<[string, string]> => {
  const out: Array<[string, string]> = [];
  for (const [k, v] of query) if (!FORMAT_PARAMS.has(k)) out.push([k, v]);
  return out;
};
/** The request's own query (parsed once, request-query.ts) as search pairs. */
const requestParams = (req: FastifyRequest) => searchPairs(queryOf(req));

const restRequest = (req: Req, extra: Partial<rest.RestRequest> = {}): rest.RestRequest => ({
  type: req.params.type,
  id: req.params.id,
  vid: req.params.vid,
  query: rawQuery(req),
  // Content that is not FHIR JSON, sent to create or update a Binary (binary.html#rest), is that Binary's.
  body: req.body instanceof NativeContent ? req.body.binary(req.params.id, headerOf(req, 'x-security-context')) : req.body,
  header: (name) => headerOf(req, name),
  ...extra,
});
const headerOf = (req: FastifyRequest, name: string) => {
  const h = req.headers[name];
  return Array.isArray(h) ? h.join(',') : h;
};

export function registerFhirRoutes(app: FastifyInstance, s: Services, operations: Operation[], software: { name: string; version: string }): void {
  const elements = new ElementFilter(s.definitions.resourceDefinitions);
  const send = (req: FastifyRequest, reply: FastifyReply, r: RestResult, kind: 'read' | 'write' | 'other') => {
    // For the audit record (src/auth/security.ts): what the interaction read or wrote, as it has it.
    req.restResult = r;
    return sendResult(req, reply, r, elements, kind);
  };
  const opByName = new Map(operations.map((o) => [o.name, o]));
  /** A read or vread, conditional on If-None-Match / If-Modified-Since; a Binary's content itself unless FHIR is asked for. */
  const sendRead = (req: Req, reply: FastifyReply, r: RestResult) => {
    const status = notModified(req, r) ? 304 : r.status;
    const v = r.version;
    if (v?.type === 'Binary' && v.json !== undefined) {
      const binary = v.resource as Binary;
      if (binaryAnswer(req, binary.contentType) === 'native') return sendNativeBinary(reply, v, binary, status);
      try {
        responseFormat(req);
      } catch {
        throw FhirError.of(406, 'not-supported', `Binary/${v.id} holds ${String(binary.contentType).slice(0, 60)}: Accept that type for the content, or application/fhir+json for the resource`);
      }
    }
    return send(req, reply, { ...r, status }, 'read');
  };
  // A request that may write is refused before it runs when its answer's format cannot be served:
  // a 406 after the commit would say it failed, and a retry would write it twice.
  app.addHook('onRequest', (req, _reply, done) => {
    if (req.method === 'GET' || req.method === 'HEAD' || !req.url.startsWith('/fhir')) return done();
    try {
      responseFormat(req);
      done();
    } catch (e) {
      done(e as Error);
    }
  });

  const search = async (req: Req, types: string[], params: Array<[string, string]>, path: string, compartment?: { type: string; id: string }) => {
    const bundle = await s.search.search(s.store, { types, params, path, compartment, lenient: parsePrefer(req).handling === 'lenient' });
    return { status: 200, body: bundle } as RestResult;
  };

  /** A GET inside a transaction or batch: read, vread, search or history by relative URL. */
  const internalGet = async (url: string): Promise<RestResult> => {
    const [path, query = ''] = url.split('?', 2) as [string, string?];
    const parts = path.split('/').filter(Boolean);
    const header = () => undefined;
    const parsed = new URLSearchParams(query);
    if (parts.length === 0) return systemSearch({} as Req, parsed);
    assertKnownType(s, parts[0]);
    if (parts.length === 1) return search({ headers: {} } as Req, [parts[0]], searchPairs(parsed), parts[0]);
    if (parts.length === 2 && parts[1] === '_history') return history(s, { type: parts[0] }, query, elements);
    if (parts.length === 2) return shaped(await rest.read(s, { type: parts[0], id: parts[1], query, header }), parsed);
    if (parts.length === 3 && parts[2] === '_history') return history(s, { type: parts[0], id: parts[1] }, query, elements);
    if (parts.length === 4 && parts[2] === '_history') return shaped(await rest.vread(s, { type: parts[0], id: parts[1], vid: parts[3], query, header }), parsed);
    throw badRequest(`Unsupported GET url in bundle: ${url.slice(0, 100)}`, 'not-supported');
  };
  /** A read's resource as its _summary and _elements shape it, as for a GET (render.ts). */
  const shaped = (r: RestResult, query: URLSearchParams): RestResult => {
    const body = r.version && !r.version.deleted ? shapedRead(elements, r.version, query) : undefined;
    return body ? { ...r, body } : r;
  };
  /**
   * GET [base]?_type=...: the engine reads the types from _type, which so stays in the self and
   * paging links (taken out here, a next link searched every type).
   */
  const systemSearch = (req: Req, query: URLSearchParams) => search(req, [], searchPairs(query), '');

  const runOperation = async (req: Req, reply: FastifyReply, name: string, type?: string, id?: string) => {
    const op = opByName.get(name.slice(1));
    if (!op) throw FhirError.of(404, 'not-supported', `Unknown operation '${name.slice(0, 60)}'`);
    const level = id !== undefined ? 'instance' : type !== undefined ? 'type' : 'system';
    const allowed = level === 'system' ? op.system : level === 'type' ? op.typeLevel : op.instanceLevel;
    if (!allowed || (type && !op.types.includes('*') && !op.types.includes(type))) {
      throw FhirError.of(404, 'not-supported', `Operation ${name} is not defined at ${level} level${type ? ' for ' + type : ''}`);
    }
    if (!op.methods.includes(req.method as 'GET' | 'POST')) {
      // RFC 9110 15.5.6: the 405 names what the operation takes (HEAD wherever GET is served).
      const allow = httpMethodsOf(op).join(', ');
      throw new FhirError(405, { severity: 'error', code: 'not-supported', diagnostics: `Operation ${name} does not accept ${req.method}: it takes ${allow}` }, { Allow: allow });
    }
    if (type) assertKnownType(s, type);
    if (id) assertId(id);
    const r = await op.run(s, {
      method: req.method as 'GET' | 'POST',
      type,
      id,
      query: requestParams(req),
      body: req.body,
      header: (n) => req.headers[n] as string | undefined,
    });
    return send(req, reply, r, 'other');
  };

  const capabilities = new Capabilities(s, operations, software);
  // capabilities.html: with an ETag, and If-None-Match answered 304 like a conditional read.
  app.get('/fhir/metadata', async (req, reply) => {
    const { statement, etag, opaque } = capabilities.current();
    const inm = headerOf(req, 'if-none-match');
    const status = inm !== undefined && ifNoneMatchHits(inm, opaque) ? 304 : 200;
    return send(req, reply, { status, body: statement, headers: { ETag: etag } }, 'other');
  });

  // System level: transaction/batch, history, search.
  app.post('/fhir', async (req: Req, reply) => {
    const r = await processBundle(s, req.body, { representation: parsePrefer(req).return === 'representation', get: internalGet, refused: req.entryRefusals });
    return send(req, reply, r, 'other');
  });
  app.get('/fhir', async (req: Req, reply) => {
    return send(req, reply, await systemSearch(req, queryOf(req)), 'other');
  });
  // http.html#search: POST [base]/_search, the system search with its parameters in a form (and the URL).
  app.post('/fhir/_search', { config: { formBody: true } }, async (req: Req, reply) => {
    return send(req, reply, await search(req, [], [...requestParams(req), ...formOf(req)], ''), 'other');
  });
  app.get('/fhir/_history', async (req: Req, reply) => send(req, reply, await history(s, {}, rawQuery(req), elements), 'other'));

  // Type level.
  app.get('/fhir/:type', async (req: Req, reply) => {
    const { type } = req.params;
    if (type.startsWith('$')) return runOperation(req, reply, type);
    assertKnownType(s, type);
    return send(req, reply, await search(req, [type], requestParams(req), type), 'other');
  });
  app.post('/fhir/:type', async (req: Req, reply) => {
    const { type } = req.params;
    if (type.startsWith('$')) return runOperation(req, reply, type);
    return send(req, reply, await rest.create(s, restRequest(req)), 'write');
  });
  app.put('/fhir/:type', async (req: Req, reply) => send(req, reply, await rest.update(s, restRequest(req)), 'write'));
  app.delete('/fhir/:type', async (req: Req, reply) => send(req, reply, await rest.remove(s, restRequest(req)), 'write'));
  app.post('/fhir/:type/_search', { config: { formBody: true } }, async (req: Req, reply) => {
    const { type } = req.params;
    assertKnownType(s, type);
    return send(req, reply, await search(req, [type], [...requestParams(req), ...formOf(req)], type), 'other');
  });
  app.get('/fhir/:type/_history', async (req: Req, reply) => send(req, reply, await history(s, { type: req.params.type }, rawQuery(req), elements), 'other'));

  // Instance level.
  app.get('/fhir/:type/:id', async (req: Req, reply) => {
    const { type, id } = req.params;
    if (id.startsWith('$')) return runOperation(req, reply, id, type);
    return sendRead(req, reply, await rest.read(s, restRequest(req)));
  });
  // POST below a type serves operations only ($name); Allow leaves these routes out elsewhere.
  app.post('/fhir/:type/:id', operationsOnly('id', (p) => `POST is not allowed on ${p.type}/${p.id}: use PUT to update`), async (req: Req, reply) =>
    runOperation(req, reply, req.params.id, req.params.type),
  );
  app.put('/fhir/:type/:id', async (req: Req, reply) => send(req, reply, await rest.update(s, restRequest(req)), 'write'));
  app.patch('/fhir/:type/:id', async (req: Req, reply) => {
    const ct = String(req.headers['content-type'] ?? '');
    if (!ct.startsWith('application/json-patch+json')) {
      throw FhirError.of(415, 'not-supported', 'PATCH takes a JSON Patch body (Content-Type: application/json-patch+json)');
    }
    return send(req, reply, await rest.patch(s, restRequest(req)), 'write');
  });
  app.delete('/fhir/:type/:id', async (req: Req, reply) => send(req, reply, await rest.remove(s, restRequest(req)), 'write'));
  app.get('/fhir/:type/:id/_history', async (req: Req, reply) => send(req, reply, await history(s, { type: req.params.type, id: req.params.id }, rawQuery(req), elements), 'other'));
  app.get('/fhir/:type/:id/_history/:vid', async (req: Req, reply) => sendRead(req, reply, await rest.vread(s, restRequest(req))));
  app.get('/fhir/:type/:id/:sub', async (req: Req, reply) => {
    const { type, id, sub } = req.params;
    if (sub.startsWith('$')) return runOperation(req, reply, sub, type, id);
    assertKnownType(s, type);
    assertId(id);
    // `*`: every type of the compartment (or those _type names), http.html#search.
    if (sub !== '*') assertKnownType(s, sub);
    return send(req, reply, await search(req, sub === '*' ? [] : [sub], requestParams(req), `${type}/${id}/${sub}`, { type, id }), 'other');
  });
  app.post('/fhir/:type/:id/:sub', operationsOnly('sub', (p) => `POST is not allowed on ${p.type}/${p.id}/${p.sub}`), async (req: Req, reply) =>
    runOperation(req, reply, req.params.sub, req.params.type, req.params.id),
  );
}

/**
 * Options of a route that serves operations ($name in its last segment) only: anything else is a
 * 405 before the body is read, so no body problem (a form, bad JSON) is reported instead.
 */
function operationsOnly(last: string, refusal: (params: Record<string, string>) => string) {
  return {
    config: { operationsOnly: true },
    onRequest: (req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
      const params = req.params as Record<string, string>;
      done(params[last].startsWith('$') ? undefined : FhirError.of(405, 'not-supported', refusal(params)));
    },
  };
}

/** If-None-Match / If-Modified-Since on read (http.html#cread). */
function notModified(req: FastifyRequest, r: RestResult): boolean {
  const header = (name: string) => {
    const h = req.headers[name];
    return h === undefined ? undefined : String(h);
  };
  return r.version !== undefined && notModifiedBy(r.version, header('if-none-match'), header('if-modified-since'));
}
