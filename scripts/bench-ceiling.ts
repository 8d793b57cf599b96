// The ceiling for `npm run bench`: a bare Fastify route that only parses a JSON body and returns it.
import Fastify from 'fastify';

const app = Fastify({ logger: false, bodyLimit: 100 * 1024 * 1024 });
let last = '{}';
app.post('/echo', async (req, reply) => {
  last = JSON.stringify(req.body);
  return reply.header('content-type', 'application/json').send(last);
});
app.get('/echo', async (_req, reply) => reply.header('content-type', 'application/json').send(last));
const port = Number(process.env.PORT ?? 0);
app.listen({ port, host: '127.0.0.1' }).then(() => {
  process.send?.({ port: (app.server.address() as { port: number }).port });
});
