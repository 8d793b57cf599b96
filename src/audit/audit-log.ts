import { mkdirSync, createReadStream, existsSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { AuditEvent } from 'fhir/r4.js';

/** How long appended events may wait before they are written and fsynced together. */
const FLUSH_MS = 50;

/** Where AuditEvents are kept: a file (AuditLog) or MongoDB (MongoAuditLog). */
export interface AuditSink {
  append(event: AuditEvent): void;
  /** Resolves once everything appended so far is durable. */
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Every stored event, oldest first, that `keep` accepts. */
  scan(keep: (e: AuditEvent) => boolean): Promise<AuditEvent[]>;
}

/**
 * The audit trail: an append-only NDJSON file (DATA_DIR/audit/audit.ndjson), apart from the
 * clinical store. Appends are batched: one write + fdatasync per batch; `flush()` waits for it.
 */
export class AuditLog implements AuditSink {
  readonly file: string;
  private fh: FileHandle | undefined;
  private pending: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = join(dir, 'audit.ndjson');
  }

  append(event: AuditEvent): void {
    if (this.closed) return;
    this.pending.push(JSON.stringify(event) + '\n');
    this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), FLUSH_MS);
  }

  /** Writes and syncs everything appended so far. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const lines = this.pending;
    this.pending = [];
    this.writing = this.writing.then(async () => {
      if (lines.length === 0) return;
      this.fh ??= await open(this.file, 'a', 0o600);
      await this.fh.appendFile(lines.join(''));
      await this.fh.datasync();
    });
    return this.writing;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    await this.fh?.close();
    this.fh = undefined;
  }

  /** Every stored event, oldest first, that `keep` accepts. */
  async scan(keep: (e: AuditEvent) => boolean): Promise<AuditEvent[]> {
    await this.flush();
    if (!existsSync(this.file)) return [];
    const out: AuditEvent[] = [];
    const rl = createInterface({ input: createReadStream(this.file, 'utf8'), crlfDelay: Infinity });
    for await (const line of rl) {
      if (!line) continue;
      try {
        const e = JSON.parse(line) as AuditEvent;
        if (keep(e)) out.push(e);
      } catch {
        // a torn last line after a crash: skip it
      }
    }
    return out;
  }
}
