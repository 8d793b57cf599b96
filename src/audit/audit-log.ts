import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { open, rename, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditEvent } from 'fhir/r4.js';
import { AuditBatch } from './batch.js';
import { matchesKeys, type AuditQuery } from './audit-query.js';
import { DayIndex, forEachLine, loadDayIndex, newestFirst, scanDay, type KeyRow } from './day-index.js';
import { addToSummary, mayMatch, readSummary, summarize, writeSummary, type DaySummary } from './day-summary.js';
import { entryFromLine, entryKeys, isAuditRecord, type AuditEntry } from './record.js';

/**
 * What the key index of the file trail may hold in memory: rows over all cached days (each row
 * is ~800 bytes with its posting lists; least recently used days are dropped first), and the
 * largest day's event file that is loaded whole. A larger day is streamed from its key file on
 * each search, so a busy day, or a busy today that is searched now and then, never grows the heap.
 */
export interface AuditLogLimits {
  cachedRows: number;
  cachedDayBytes: number;
}
const LIMITS: AuditLogLimits = { cachedRows: 250_000, cachedDayBytes: 64 * 1024 * 1024 };
const DAY_MS = 86_400_000;

export interface AuditPage {
  /** Number of events that match. */
  total: number;
  /** The first `count` of them, newest first. */
  events: AuditEvent[];
}

/** Where AuditEvents are kept: files (AuditLog) or MongoDB (MongoAuditLog). */
export interface AuditSink {
  init(): Promise<void>;
  /** Records from this server; whole AuditEvents are accepted too (tests, earlier versions' trails). */
  append(event: AuditEntry): void;
  /** Resolves once everything appended so far is durable. */
  flush(): Promise<void>;
  close(): Promise<void>;
  search(q: AuditQuery): Promise<AuditPage>;
  read(id: string): Promise<AuditEvent | undefined>;
}

/** UTC day of an event's `recorded` (its partition). */
const dayOf = (e: AuditEntry) => {
  // A record's time is this server's toISOString(): its day is its first ten characters.
  if (isAuditRecord(e)) return e.t.slice(0, 10);
  const t = Date.parse(e.recorded);
  return new Date(Number.isNaN(t) ? Date.now() : t).toISOString().slice(0, 10);
};

/**
 * The audit trail on disk, apart from the clinical store: one append-only NDJSON file per UTC day
 * (DATA_DIR/audit/YYYY-MM-DD.ndjson, by `recorded`) plus its key file (YYYY-MM-DD.keys.ndjson: id,
 * time, agents, patients, entities, subtype, outcome, action and the line's byte range). A search
 * opens only the days its date range overlaps, answers the query from the key rows (posting lists
 * by id, agent, patient, entity) and reads just the event lines of the page it returns. Closed
 * days also get a summary of their agents and patients (src/audit/day-summary.ts), so an agent or
 * patient search skips the days without them unread.
 * Appends are batched: per batch one write + fdatasync of the events. Key rows are derived data:
 * a day's load indexes the event lines its key file does not cover yet and appends their rows. An `audit.ndjson` of earlier versions is moved into
 * the day files once, at init.
 */
export class AuditLog implements AuditSink {
  /** Appended events, written and fsynced together. */
  private readonly batch = new AuditBatch((events) => this.exclusive(() => this.write(events)));
  /** Serialises writes, index loads and searches. */
  private chain: Promise<void> = Promise.resolve();
  private readonly days = new Set<string>();
  /** Day indexes, least recently used first. */
  private readonly cache = new Map<string, DayIndex>();
  private target: { day: string; fh: FileHandle; size: number } | undefined;
  /** Sizes of the day event files (this process is their only writer). */
  private readonly sizes = new Map<string, number>();
  /** Summaries of closed days: null = none valid on disk. */
  private readonly summaries = new Map<string, DaySummary | null>();

  constructor(
    readonly dir: string,
    private readonly limits: AuditLogLimits = LIMITS,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const f of readdirSync(dir)) {
      const m = /^(\d{4}-\d{2}-\d{2})\.ndjson$/.exec(f);
      if (m) this.days.add(m[1]);
    }
  }

  async init(): Promise<void> {
    const legacy = join(this.dir, 'audit.ndjson');
    if (!existsSync(legacy)) return;
    let batch: AuditEntry[] = [];
    const moves: Array<Promise<void>> = [];
    await forEachLine(legacy, (line) => {
      try {
        batch.push(JSON.parse(line.toString('utf8')) as AuditEvent);
      } catch {
        return;
      }
      if (batch.length >= 10_000) {
        const b = batch;
        batch = [];
        moves.push(this.exclusive(() => this.write(b)));
      }
    });
    moves.push(this.exclusive(() => this.write(batch)));
    await Promise.all(moves);
    await rename(legacy, `${legacy}.moved-to-days`);
  }

  append(event: AuditEntry): void {
    this.batch.append(event);
  }

  /** Writes and syncs everything appended so far. */
  flush(): Promise<void> {
    return this.batch.flush();
  }

  async close(): Promise<void> {
    await this.flush();
    this.batch.close();
    await this.exclusive(async () => {
      await this.target?.fh.close();
      this.target = undefined;
    });
  }

  async search(q: AuditQuery): Promise<AuditPage> {
    await this.flush();
    return this.exclusive(async () => {
      const from = q.from ?? Number.NEGATIVE_INFINITY;
      const to = q.to ?? Number.POSITIVE_INFINITY;
      const days = [...this.days].filter((d) => {
        const start = Date.parse(d + 'T00:00:00Z');
        return start < to && start + DAY_MS > from;
      });
      days.sort().reverse();
      let total = 0;
      const page: Array<{ day: string; row: KeyRow }> = [];
      for (const day of days) {
        if (!this.cache.has(day) && (q.agent.length || q.patient.length)) {
          const sum = await this.summary(day);
          if (sum && !mayMatch(sum, q)) continue;
        }
        const found = await this.matches(day, q, q.count - page.length);
        total += found.total;
        for (const row of found.newest) page.push({ day, row });
      }
      return { total, events: await this.readRows(page) };
    });
  }

  async read(id: string): Promise<AuditEvent | undefined> {
    await this.flush();
    return this.exclusive(async () => {
      for (const day of [...this.days].sort().reverse()) {
        const row = await this.find(day, id);
        if (row) return (await this.readRows([{ day, row }]))[0];
      }
      return undefined;
    });
  }

  /** Whether a day is answered from its index in memory, or else streamed (see AuditLogLimits). */
  private async held(day: string): Promise<boolean> {
    return this.cache.has(day) || !this.days.has(day) || (await this.size(day)) <= this.limits.cachedDayBytes;
  }

  /** How many events of a day match, and the newest `count` of them. */
  private async matches(day: string, q: AuditQuery, count: number): Promise<{ total: number; newest: KeyRow[] }> {
    if (await this.held(day)) {
      const rows = (await this.index(day)).match(q);
      return { total: rows.length, newest: rows.slice(0, Math.max(0, count)) };
    }
    let total = 0;
    let newest: KeyRow[] = [];
    // Only the newest `count` are kept: sorted and cut each time twice as many have gathered.
    const keep = (cut: boolean) => {
      if (!cut && newest.length < 2 * count + 1024) return;
      newest.sort(newestFirst);
      newest.length = Math.min(newest.length, Math.max(0, count));
    };
    await this.stream(day, () => {
      total = 0;
      newest = [];
      return (row) => {
        if (!matchesKeys(row, q)) return;
        total++;
        if (count <= 0) return;
        newest.push(row);
        keep(false);
      };
    });
    keep(true);
    return { total, newest };
  }

  /** The key row of an event id in a day. */
  private async find(day: string, id: string): Promise<KeyRow | undefined> {
    if (await this.held(day)) return (await this.index(day)).find(id);
    let found: KeyRow | undefined;
    await this.stream(day, () => {
      found = undefined;
      return (row) => {
        if (row.i === id) found ??= row;
      };
    });
    return found;
  }

  /**
   * Streams the rows of a day too large to hold (no torn ones) to a visitor, and summarises the
   * day on the way when it is closed and has no valid summary, as a load does.
   */
  private async stream(day: string, start: () => (row: KeyRow) => void): Promise<void> {
    const summarise = day < new Date().toISOString().slice(0, 10) && !(await this.summary(day));
    let sum = { end: 0, a: new Set<string>(), p: new Set<string>() };
    const end = await scanDay(this.events(day), this.keys(day), () => {
      const visit = start();
      sum = { end: 0, a: new Set(), p: new Set() };
      return (row) => {
        if (row.torn) return;
        if (summarise) addToSummary(sum, row);
        visit(row);
      };
    });
    sum.end = end;
    this.sizes.set(day, end);
    if (summarise) {
      await writeSummary(this.summaryFile(day), sum);
      this.summaries.set(day, sum);
    }
  }

  /** Drops the least recently used day indexes while they hold more rows than the limit. */
  private trim(): void {
    let rows = 0;
    for (const idx of this.cache.values()) rows += idx.rows.length;
    for (const [day, idx] of this.cache) {
      if (rows <= this.limits.cachedRows) break;
      this.cache.delete(day);
      rows -= idx.rows.length;
    }
  }

  /** Runs fn after everything queued before it; a failure is the caller's, the chain goes on. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  private events(day: string): string {
    return join(this.dir, `${day}.ndjson`);
  }
  private keys(day: string): string {
    return join(this.dir, `${day}.keys.ndjson`);
  }

  /** The day's index (cached; loading it repairs a key file left behind by a crash). */
  private async index(day: string): Promise<DayIndex> {
    let idx = this.cache.get(day);
    if (idx) {
      this.cache.delete(day);
    } else {
      idx = this.days.has(day) ? await loadDayIndex(this.events(day), this.keys(day)) : new DayIndex();
      this.sizes.set(day, idx.end);
      // A closed day (before today, UTC) gets a summary once, for later processes.
      if (day < new Date().toISOString().slice(0, 10) && this.days.has(day) && !(await this.summary(day))) {
        const sum = summarize(idx);
        await writeSummary(this.summaryFile(day), sum);
        this.summaries.set(day, sum);
      }
    }
    this.cache.set(day, idx);
    this.trim();
    return idx;
  }

  private async write(events: readonly AuditEntry[]): Promise<void> {
    const byDay = new Map<string, AuditEntry[]>();
    for (const e of events) {
      const day = dayOf(e);
      let list = byDay.get(day);
      if (!list) byDay.set(day, (list = []));
      list.push(e);
    }
    for (const [day, list] of byDay) {
      const t = await this.appendTarget(day);
      const lines = list.map((e) => JSON.stringify(e) + '\n');
      // Key rows only for a day whose index is in memory; the key file catches up when a day is loaded.
      const idx = this.cache.get(day);
      const rows: KeyRow[] = [];
      if (idx) {
        let o = t.size;
        for (let k = 0; k < lines.length; k++) {
          const n = Buffer.byteLength(lines[k]);
          const row = entryKeys(list[k]) as KeyRow;
          row.o = o;
          row.n = n;
          rows.push(row);
          o += n;
        }
      }
      // One buffer, written whole (FileHandle.appendFile of a string goes through a slower path).
      const data = Buffer.from(lines.join(''));
      try {
        for (let done = 0; done < data.length; ) done += (await t.fh.write(data, done)).bytesWritten;
        await t.fh.datasync();
      } catch (e) {
        // Part of the batch may be on disk: the next append reopens the file at its real size (closing
        // a torn line) and the day's index is loaded again from the file.
        this.target = undefined;
        this.cache.delete(day);
        // Its size and summary are re-read too: whole lines of the batch may have landed.
        this.sizes.delete(day);
        this.summaries.delete(day);
        await t.fh.close().catch(() => undefined);
        throw e;
      }
      t.size += data.length;
      if (idx) {
        for (const r of rows) idx.add(r);
        this.trim();
      }
      this.sizes.set(day, t.size);
      this.summaries.delete(day);
    }
  }

  private summaryFile(day: string): string {
    return join(this.dir, `${day}.summary.json`);
  }

  /** The day's summary while it matches the event file. */
  private async summary(day: string): Promise<DaySummary | undefined> {
    const known = this.summaries.get(day);
    if (known !== undefined) return known ?? undefined;
    const sum = await readSummary(this.summaryFile(day), await this.size(day));
    this.summaries.set(day, sum ?? null);
    return sum;
  }

  /** The size of a day's event file. */
  private async size(day: string): Promise<number> {
    let size = this.sizes.get(day);
    if (size === undefined) this.sizes.set(day, (size = (await stat(this.events(day))).size));
    return size;
  }

  /** The open event file of `day`. */
  private async appendTarget(day: string): Promise<{ day: string; fh: FileHandle; size: number }> {
    if (this.target?.day === day) return this.target;
    await this.target?.fh.close();
    this.target = undefined;
    const fh = await open(this.events(day), 'a+', 0o600);
    let end = (await fh.stat()).size;
    // A last line a crash left unterminated is closed, so appends start a line of their own (the
    // torn line is indexed as no event).
    if (end > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, end - 1);
      if (last[0] !== 10) {
        await fh.write('\n');
        end++;
      }
    }
    const cached = this.cache.get(day);
    if (cached && cached.end !== end) this.cache.delete(day);
    this.days.add(day);
    this.sizes.set(day, end);
    this.summaries.delete(day);
    this.target = { day, fh, size: end };
    return this.target;
  }

  private async readRows(rows: ReadonlyArray<{ day: string; row: KeyRow }>): Promise<AuditEvent[]> {
    const out: AuditEvent[] = [];
    let fh: FileHandle | undefined;
    let open_: string | undefined;
    try {
      for (const { day, row } of rows) {
        if (open_ !== day) {
          await fh?.close();
          fh = await open(this.events(day), 'r');
          open_ = day;
        }
        const buf = Buffer.alloc(row.n);
        await fh!.read(buf, 0, row.n, row.o);
        out.push(entryFromLine(buf.toString('utf8')));
      }
    } finally {
      await fh?.close();
    }
    return out;
  }
}
