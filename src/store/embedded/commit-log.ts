import { open, type FileHandle } from 'node:fs/promises';
import { createReadStream, existsSync } from 'node:fs';

/**
 * Append-only commit log: one line of JSON per committed transaction. A line is written whole
 * and made durable with fdatasync before its commit is acknowledged; concurrent commits share
 * one fdatasync (group commit). A torn last line (crash mid-write) was never acknowledged and is
 * cut off on the next start.
 *
 * Lines are numbered as they are appended. The store makes a commit visible when its line is
 * appended, before it is durable, so `settled` lets a reader that saw it wait until it is: no
 * answer may rest on a commit that a crash could still take back.
 */
export class CommitLog {
  private queue: Array<{ data: string; resolve: () => void; reject: (e: Error) => void }> = [];
  /** Waiting for a line number to be durable. */
  private waiters: Array<{ upTo: number; resolve: () => void; reject: (e: Error) => void }> = [];
  private draining = false;
  private failure: Error | undefined;
  /** Lines appended, and lines durable: the first `synced` of the `appended`. */
  private appended = 0;
  private synced = 0;

  /** `size`: bytes of the log that are durable, where a failed write is cut back to. */
  private constructor(
    private readonly fh: FileHandle,
    private size: number,
  ) {}

  /**
   * Opens (creating) the log, first replaying every complete line (its bytes, without the
   * newline) through onLine. `cut`: the bytes of an unterminated tail, cut off.
   */
  static async open(path: string, onLine: (line: Buffer) => void): Promise<{ log: CommitLog; cut: number }> {
    let cut = 0;
    if (existsSync(path)) {
      const good = await replay(path, onLine);
      const fh = await open(path, 'r+');
      const { size } = await fh.stat();
      if (size > good) await fh.truncate(good);
      cut = size - good;
      await fh.close();
    }
    const fh = await open(path, 'a', 0o600);
    return { log: new CommitLog(fh, (await fh.stat()).size), cut };
  }

  /** Resolves once the line is on disk. */
  append(line: string): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.appended++;
    return new Promise((resolve, reject) => {
      this.queue.push({ data: line + '\n', resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  /** True while some appended line is not yet durable (or never will be: the log failed). */
  get unsettled(): boolean {
    return this.synced < this.appended;
  }

  /** Resolves once every line appended so far is durable; rejects if the log fails first. */
  settled(): Promise<void> {
    if (this.synced >= this.appended) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    const upTo = this.appended;
    return new Promise((resolve, reject) => this.waiters.push({ upTo, resolve, reject }));
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  private async drain(): Promise<void> {
    this.draining = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      const bytes = Buffer.from(batch.map((b) => b.data).join(''));
      try {
        await writeAll(this.fh, bytes);
        await this.fh.datasync();
        this.size += bytes.length;
        this.synced += batch.length;
        for (const b of batch) b.resolve();
        this.waiters = this.waiters.filter((w) => (w.upTo <= this.synced ? (w.resolve(), false) : true));
      } catch (e) {
        // After a failed write or sync we can no longer tell what is on disk: refuse all further
        // writes (and reads, which could see the refused commits), and cut the log back to what
        // was durable, so that what was refused is not there after a restart either.
        this.failure = e instanceof Error ? e : new Error(String(e));
        // Cut back before answering: once a writer hears of the failure, the log holds none of it.
        await this.fh.truncate(this.size).then(() => this.fh.datasync()).catch(() => undefined);
        for (const b of [...batch, ...this.queue.splice(0)]) b.reject(this.failure);
        for (const w of this.waiters.splice(0)) w.reject(this.failure);
      }
    }
    this.draining = false;
  }

  async close(): Promise<void> {
    while (this.draining || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    await this.fh.close();
  }
}

/** Writes every byte: a write may take fewer than asked (a full disk), and the rest is then retried, which reports the error. */
async function writeAll(fh: FileHandle, bytes: Buffer): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done);
    if (bytesWritten <= 0) throw new Error(`commit log: a write took no bytes (${bytes.length - done} left)`);
    done += bytesWritten;
  }
}

/**
 * Feeds each complete line to onLine; returns the byte length of the lines applied. Only an
 * unterminated last line is dropped: that is a write cut short by a crash, never acknowledged.
 * A complete line that does not read is damage to what was acknowledged: the log is refused,
 * wherever the line is (an empty line, which no writer makes, is passed over).
 */
async function replay(path: string, onLine: (line: Buffer) => void): Promise<number> {
  let carry: Buffer = Buffer.alloc(0);
  let offset = 0; // bytes of complete, applied lines
  for await (const chunk of createReadStream(path, { highWaterMark: 8 << 20 })) {
    let buf = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      if (nl > start) {
        try {
          onLine(buf.subarray(start, nl));
        } catch (e) {
          // Not the parser's message: JSON.parse quotes the text around the fault, which is patient data.
          const what = e instanceof SyntaxError ? 'the line is not valid JSON' : `the line is not a commit record (${(e as Error).name})`;
          throw new Error(`commit log ${path} is corrupt at byte ${offset}: ${what}. Its complete lines are acknowledged commits, so the server does not start without them: restore the file, or cut it at that byte to give up that commit and every later one`);
        }
      }
      offset += nl - start + 1;
      start = nl + 1;
    }
    carry = buf.subarray(start);
    buf = carry;
  }
  return offset; // an unterminated last line is dropped
}
