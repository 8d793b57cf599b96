import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';

/**
 * One JSON line per request with its id, method, path without query (queries can hold
 * identifiers), status and time. Bodies, names and identifiers are never logged.
 */
export function logOptions(level: string): FastifyServerOptions['logger'] {
  return {
    level,
    serializers: {
      req: (req: { method: string; url: string; id: string }) => ({ id: req.id, method: req.method, path: req.url.split('?')[0] }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
    },
  };
}

export type Logger = FastifyBaseLogger;
