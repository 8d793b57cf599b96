import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { buildApp, type BuiltApp } from '../../src/app.js';
import { configFromEnv, type Config } from '../../src/config.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface TestServer {
  base: string;
  built: BuiltApp;
  config: Config;
  close(): Promise<void>;
}

/**
 * Starts the real server on a free port over a fresh embedded store (or MongoDB when
 * MONGODB_URI is set, in a fresh database), as a client would meet it.
 */
export async function startServer(overrides: Partial<Config> = {}, attempt = 1): Promise<TestServer> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'ccm-srv-'));
  const env = { ...process.env, LOG_LEVEL: 'silent' };
  const config: Config = {
    ...configFromEnv(env),
    port,
    host: '127.0.0.1',
    baseUrl: `http://127.0.0.1:${port}/fhir`,
    dataDir,
    mongodbDb: `ccm_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`,
    ...overrides,
  };
  const built = await buildApp(config, { logger: false });
  try {
    await built.app.listen({ port, host: '127.0.0.1' });
  } catch (e) {
    // The free port can be taken between freePort() and listen (parallel test files, a database
    // client's outgoing connections): start again on another, as the base URL names the port.
    await built.close();
    rmSync(dataDir, { recursive: true, force: true });
    if ((e as { code?: string }).code === 'EADDRINUSE' && attempt < 5) return startServer(overrides, attempt + 1);
    throw e;
  }
  return {
    base: config.baseUrl,
    built,
    config,
    async close() {
      if (config.mongodbUri) {
        const { MongoClient } = await import('mongodb');
        const c = new MongoClient(config.mongodbUri);
        await c.connect();
        await c.db(config.mongodbDb).dropDatabase();
        await c.close();
      }
      await built.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  text: string;
}

/** A FHIR JSON request with undici; the body is parsed when it is JSON. */
export async function fhir(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> {
  const res = await request(url, {
    method: method as 'GET',
    headers: { accept: 'application/fhir+json', ...(body !== undefined ? { 'content-type': 'application/fhir+json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.statusCode, headers: res.headers, body: parsed, text };
}

/** Where the shared test data lives; undefined (with one line printed) when it is absent. */
export function sharedData(): string | undefined {
  const dir = process.env.FHIR_TEST_DATA ?? join(process.cwd(), '..', 'shared', 'data');
  if (existsSync(dir)) return dir;
  console.log(`# shared test data not found at ${dir} (set FHIR_TEST_DATA): skipping the tests that need it`);
  return undefined;
}
