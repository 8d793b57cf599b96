import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { request } from 'undici';
import { SERVER_NODE_ARGS } from '../../scripts/server-node-args.js';
import { freePort } from './server.js';

export interface ChildServer {
  proc: ChildProcess;
  base: string;
  exited: Promise<number | null>;
}

let built = false;

/** Compiles dist/ when stale, exactly as `npm start` does before it starts the server. */
function buildOnce(): void {
  if (built) return;
  execFileSync(process.execPath, [join(process.cwd(), 'scripts/build-if-needed.mjs')], { stdio: 'inherit' });
  built = true;
}

/** Runs the compiled server in a child process, as `npm start` would. */
export async function startChild(env: Record<string, string>, port?: number): Promise<ChildServer> {
  buildOnce();
  port ??= await freePort();
  const proc = spawn(process.execPath, [...SERVER_NODE_ARGS, join(process.cwd(), 'dist/src/server.js')], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}/fhir`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode} before it was ready`);
    try {
      const r = await request(`http://127.0.0.1:${port}/readyz`);
      await r.body.text();
      if (r.statusCode === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error('server did not become ready in 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { proc, base, exited };
}
