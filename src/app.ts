import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { SearchParameter } from 'fhir/r4.js';
import { setupSecurity } from './auth/security.js';
import type { Config } from './config.js';
import { loadDefinitions } from './fhir/definitions.js';
import { registerBodyParsers } from './http/body-parsers.js';
import { clientErrorHandler, frameworkErrors, registerErrorHandler } from './http/error-handler.js';
import { FhirError } from './fhir/errors.js';
import { registerHealthRoutes } from './http/health.js';
import { registerFhirRoutes } from './http/routes.js';
import { logOptions } from './http/logging.js';
import type { Operation } from './operations/operation.js';
import { builtInOperations } from './operations/index.js';
import { httpMethodsOf } from './operations/operation.js';
import type { Services, SearchService, ValidationService } from './rest/services.js';
import { createSearchEngine } from './search/engine.js';
import { openStore } from './store/open-store.js';
import { createValidator } from './validation/validator.js';
import { ValidationPool } from './validation/pool.js';
import { softwareInfo } from './software.js';
import { isValidlyPercentEncoded, parseRequestQuery } from './http/request-query.js';
import { TurnBatch } from './http/turn-batch.js';

export interface BuiltApp {
  app: FastifyInstance;
  services: Services;
  /** Stops accepting, finishes in-flight requests, closes the store. */
  close(): Promise<void>;
}

export interface AppOverrides {
  /** Logger: false silences (tests), otherwise pino options from config. */
  logger?: boolean;
  operations?: Operation[];
}

/** Builds the whole server from a config object (tests build it too). */
export async function buildApp(config: Config, overrides: AppOverrides = {}): Promise<BuiltApp> {
  const definitions = loadDefinitions();
  const validatorOptions = {
    profileDirs: [config.profilesDir],
    packagePaths: config.igPackages,
    strictProfiles: config.strictProfiles,
    policies: config.validationPolicies,
  };
  // The workers start while this thread loads its own validator.
  const poolStarting = config.validate ? ValidationPool.start(config.validationWorkers, validatorOptions) : Promise.resolve(undefined);
  const validator: ValidationService | undefined = config.validate ? await createValidator(validatorOptions) : undefined;
  const validatorPool = await poolStarting;
  const extraParams = (validator?.conformanceResources() ?? []).filter((r): r is SearchParameter => r.resourceType === 'SearchParameter');
  const search: SearchService = createSearchEngine({ baseUrl: config.baseUrl, extraSearchParameters: extraParams });
  const store = await openStore(config, search.indexes);
  // Auth on: the interactions see the store through the access token (src/auth/guarded-store.ts).
  const security = await setupSecurity(config, search, definitions.resourceTypes, store);
  const services: Services = { config, definitions, store: security.store, search, validator, validatorPool, resourceTypes: new Set(definitions.resourceTypes) };

  const app = Fastify({
    logger: overrides.logger === false ? false : logOptions(config.logLevel),
    // One line per request is written by the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimit,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9\-_.]{1,64}$/.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    // A base URL configured with a trailing slash ('[base]/Patient/') still names the same endpoint.
    routerOptions: { maxParamLength: 200, querystringParser: parseRequestQuery, ignoreTrailingSlash: true },
    // On close: idle keep-alive sockets are closed at once, in-flight requests finish.
    forceCloseConnections: 'idle',
    // Requests that still arrive while closing get a 503 OperationOutcome from the hook below (Fastify's own has another body).
    return503OnClosing: false,
    frameworkErrors,
    clientErrorHandler,
  });
  // Callback-style hooks: an async hook costs a promise on every request.
  // The request log line has its hook only when info is logged.
  if (overrides.logger !== false && ['trace', 'debug', 'info'].includes(app.log.level)) {
    app.addHook('onResponse', (req, reply, done) => {
      req.log.info({ method: req.method, path: req.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
      done();
    });
  }
  let closed = false;
  const batch = config.batchResponses ? new TurnBatch((err) => app.log.error({ err }, 'sending a response failed')) : undefined;
  app.decorateReply('batched', false);
  // Responses finished while closing end their connection, so keep-alive sockets do not hold the
  // shutdown open; the others go out with their turn's (src/http/turn-batch.ts).
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (closed) reply.header('Connection', 'close');
    if (!batch) return done(null, payload);
    // A second answer while the first waits in the batch (a timeout's 503 racing a handler that
    // finished) is dropped, as Fastify drops one given after the first was sent.
    if (reply.batched) return;
    reply.batched = true;
    batch.add(() => done(null, payload));
  });
  app.addHook('onRequest', (_req, _reply, done) => done(closed ? FhirError.of(503, 'transient', 'The server is shutting down: retry the request') : undefined));
  // The path's escapes are checked by the router (frameworkErrors); the query's here, as URLSearchParams accepts anything.
  app.addHook('onRequest', (req, _reply, done) => {
    const i = req.url.indexOf('?');
    done(i >= 0 && !isValidlyPercentEncoded(req.url.slice(i + 1)) ? FhirError.of(400, 'invalid', 'The URL is not validly percent-encoded (in its query string)') : undefined);
  });
  for (const note of store.notes ?? []) app.log.warn(note);
  registerBodyParsers(app);
  const operations = overrides.operations ?? builtInOperations();
  registerErrorHandler(app, (name) => {
    const op = operations.find((o) => o.name === name);
    return op && httpMethodsOf(op);
  });
  await security.register(app, services);
  registerHealthRoutes(app, services);
  registerFhirRoutes(app, services, operations, softwareInfo());

  return {
    app,
    services,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await security.close();
      await store.close();
      await validatorPool?.close();
    },
  };
}

declare module 'fastify' {
  interface FastifyReply {
    /** Its answer waits in the turn's batch of responses (src/http/turn-batch.ts). */
    batched: boolean;
  }
}
