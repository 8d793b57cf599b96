import { unlinkSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';

/** The socket's name in the data folder. */
export const LOCK_NAME = 'LOCK.sock';

/**
 * An exclusive claim on a data folder, so that two processes (a server and `npm run reindex`, or
 * two servers) never append to one commit log: a Unix socket in the folder, listened on while
 * the store is open. The kernel ends it with its process, so a claim left by a crash is told
 * from a live one by connecting (refused: stale) — a pid file cannot tell, in containers whose
 * processes all have pid 1. Resolves to the release; rejects when another process holds it.
 * Where the folder's path is too long for a socket name (about 100 bytes), no claim is made
 * and `note` says so.
 */
export async function claimDir(dir: string, note: (message: string) => void): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_NAME);
  if (Buffer.byteLength(path) > 100) {
    note(`${dir}: the path is too long for its lock socket, so nothing stops another process from opening this folder too`);
    return async () => undefined;
  }
  for (let attempt = 0; ; attempt++) {
    const server = createServer((socket) => socket.end());
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
      server.unref(); // the claim never keeps the process alive
      return () => release(server);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt > 0) throw e;
    }
    if (await answers(path)) throw new Error(`DATA_DIR ${dir} is in use by another process (it listens on ${LOCK_NAME}): stop that server or reindex first`);
    unlinkSync(path); // left by a process that is gone
  }
}

function release(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Whether a process listens on the socket. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
