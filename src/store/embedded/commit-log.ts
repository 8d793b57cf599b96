import { open, type FileHandle } from 'node:fs/promises';
import { createReadStream, existsSync } from 'node:fs';

/**
 * Append-only commit log: one line of JSON per committed transaction. A line is written with a
 * single write and made durable with fdatasync before its commit is acknowledged; concurrent
 * commits share one fdatasync (group commit). A torn last line (crash mid-write) was never
 * acknowledged and is cut off on the next start.
 */
export class CommitLog {
  private queue: Array<{ data: string; resolve: () => void; reject: (e: Error) => void }> = [];
  private draining = false;
  private failure: Error | undefined;

  private constructor(private readonly fh: FileHandle) {}

  /** Opens (creating) the log, first replaying every complete line (its bytes, without the newline) through onLine. */
  static async open(path: string, onLine: (line: Buffer) => void): Promise<CommitLog> {
    if (existsSync(path)) {
      const good = await replay(path, onLine);
      const fh = await open(path, 'r+');
      const { size } = await fh.stat();
      if (size > good) await fh.truncate(good);
      await fh.close();
    }
    const fh = await open(path, 'a');
    return new CommitLog(fh);
  }

  /** Resolves once the line is on disk. */
  append(line: string): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ data: line + '\n', resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  private async drain(): Promise<void> {
    this.draining = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      try {
        await this.fh.write(batch.map((b) => b.data).join(''));
        await this.fh.datasync();
        for (const b of batch) b.resolve();
      } catch (e) {
        // After a failed write or sync we can no longer tell what is on disk: refuse all further writes.
        this.failure = e instanceof Error ? e : new Error(String(e));
        for (const b of [...batch, ...this.queue.splice(0)]) b.reject(this.failure);
      }
    }
    this.draining = false;
  }

  async close(): Promise<void> {
    while (this.draining || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    await this.fh.close();
  }
}

/** Feeds each complete line to onLine; returns the byte length of the valid prefix. */
async function replay(path: string, onLine: (line: Buffer) => void): Promise<number> {
  let carry: Buffer = Buffer.alloc(0);
  let offset = 0; // bytes of complete, applied lines
  let pendingError: Error | undefined;
  for await (const chunk of createReadStream(path, { highWaterMark: 8 << 20 })) {
    let buf = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      if (pendingError) throw pendingError; // a bad line followed by more lines: real corruption
      try {
        onLine(buf.subarray(start, nl));
        offset += nl - start + 1;
      } catch (e) {
        pendingError = new Error(`commit log ${path} is corrupt at byte ${offset}: ${(e as Error).message}`);
      }
      start = nl + 1;
    }
    carry = buf.subarray(start);
    buf = carry;
  }
  if (pendingError && carry.length > 0) throw pendingError;
  return offset; // a trailing bad or unterminated line is dropped
}
