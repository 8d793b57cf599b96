import type { FastifyInstance } from 'fastify';
import type { Services } from '../rest/services.js';

/** /healthz: the process answers. /readyz: the store answers too. */
export function registerHealthRoutes(app: FastifyInstance, s: Services): void {
  app.get('/healthz', async (_req, reply) => reply.header('Cache-Control', 'no-store').send({ status: 'ok' }));
  app.get('/readyz', async (req, reply) => {
    try {
      await s.store.ping();
      return reply.header('Cache-Control', 'no-store').send({ status: 'ready', store: s.store.capabilities.backend });
    } catch (e) {
      req.log.warn({ err: { message: (e as Error).message } }, 'store not ready');
      return reply.code(503).header('Cache-Control', 'no-store').send({ status: 'unavailable' });
    }
  });
}
