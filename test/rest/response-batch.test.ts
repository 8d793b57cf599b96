import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { buildApp } from '../../src/app.js';
import { configFromEnv } from '../../src/config.js';
import { startServer } from '../helpers/server.js';

// Responses finished in one turn of the event loop go out together (src/http/turn-batch.ts);
// BATCH_RESPONSES=false sends each at once. Either way every client gets its own answer.

for (const batchResponses of [true, false]) {
  t.test(`concurrent reads and searches each get their own answer (batchResponses ${batchResponses})`, async (t) => {
    const s = await startServer({ batchResponses });
    t.teardown(() => s.close());
    const pool = new Pool(new URL(s.base).origin, { connections: 8 });
    t.teardown(() => pool.close());
    const path = new URL(s.base).pathname;
    const ids = Array.from({ length: 40 }, (_, i) => `p${i}`);
    for (const id of ids) {
      const r = await pool.request({ method: 'PUT', path: `${path}/Patient/${id}`, headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Patient', id, gender: Number(id.slice(1)) % 2 ? 'male' : 'female' }) });
      t.equal(r.statusCode, 201);
      await r.body.dump();
    }
    const answers = await Promise.all(
      ids.flatMap((id) => [
        pool.request({ method: 'GET', path: `${path}/Patient/${id}` }).then(async (r) => [r.statusCode, (await r.body.json()) as { id: string }] as const),
        pool.request({ method: 'GET', path: `${path}/Patient?_id=${id}` }).then(async (r) => [r.statusCode, (await r.body.json()) as { entry: Array<{ resource: { id: string } }> }] as const),
      ]),
    );
    for (let i = 0; i < ids.length; i++) {
      const [readStatus, read] = answers[2 * i] as readonly [number, { id: string }];
      const [searchStatus, page] = answers[2 * i + 1] as readonly [number, { entry: Array<{ resource: { id: string } }> }];
      t.equal(readStatus, 200);
      t.equal(read.id, ids[i], `read ${ids[i]}`);
      t.equal(searchStatus, 200);
      t.same(page.entry.map((e) => e.resource.id), [ids[i]], `search _id=${ids[i]}`);
    }
  });
}

t.test('a second answer given while the first waits in the batch is dropped, and nothing fails', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'batch-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const logged: string[] = [];
  const config = { ...configFromEnv({ LOG_LEVEL: 'error' }), dataDir, port: 0, host: '127.0.0.1', batchResponses: true };
  const built = await buildApp(config, { logger: false });
  t.teardown(() => built.close());
  built.app.log.error = ((obj: unknown, msg?: string) => logged.push(String(msg ?? obj))) as typeof built.app.log.error;
  // An async handler that sends without returning the reply: Fastify answers again (with no
  // payload) when its promise settles, which is while the first answer waits in the batch.
  built.app.get('/no-return', async (_req, reply) => {
    reply.code(201).header('content-type', 'text/plain').send('first');
  });
  await built.app.listen({ port: 0, host: '127.0.0.1' });
  const pool = new Pool(`http://127.0.0.1:${(built.app.server.address() as { port: number }).port}`);
  t.teardown(() => pool.close());
  for (let i = 0; i < 3; i++) {
    const r = await pool.request({ method: 'GET', path: '/no-return' });
    t.equal(r.statusCode, 201);
    t.equal(await r.body.text(), 'first');
  }
  t.same(logged, [], 'no failed send');
});

t.test('BATCH_RESPONSES: on unless turned off', async (t) => {
  t.equal(configFromEnv({}).batchResponses, true);
  t.equal(configFromEnv({ BATCH_RESPONSES: '' }).batchResponses, true);
  t.equal(configFromEnv({ BATCH_RESPONSES: 'false' }).batchResponses, false);
  t.equal(configFromEnv({ BATCH_RESPONSES: '0' }).batchResponses, false);
  t.equal(configFromEnv({ BATCH_RESPONSES: 'true' }).batchResponses, true);
});
