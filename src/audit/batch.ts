import type { AuditEntry } from './record.js';

/** How long appended events may wait before they are written together. */
const FLUSH_MS = 50;

/**
 * The append side of an audit sink: events are collected and handed to `write` as one batch,
 * FLUSH_MS after the first of them or at flush(); after close() appends are dropped.
 */
export class AuditBatch {
  private pending: AuditEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly write: (events: AuditEntry[]) => Promise<void>) {}

  append(event: AuditEntry): void {
    if (this.closed) return;
    this.pending.push(event);
    this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), FLUSH_MS);
  }

  /** Writes everything appended so far (resolves when `write` has). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const events = this.pending;
    this.pending = [];
    return this.write(events);
  }

  close(): void {
    this.closed = true;
  }
}
