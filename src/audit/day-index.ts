import { createReadStream } from 'node:fs';
import { appendFile, stat, writeFile } from 'node:fs/promises';
import { matchesKeys, type AuditKeys, type AuditQuery } from './audit-query.js';
import { entryKeys, type AuditEntry } from './record.js';

/** The keys of one event and where its line is in the day's file (byte offset, length incl. newline). */
export interface KeyRow extends AuditKeys {
  o: number;
  n: number;
  /** A line that is no event (torn by a crash): kept in the key file only so the bytes are accounted for. */
  torn?: true;
}

/**
 * The key index of one day of the audit trail: one row per event, with posting lists by id,
 * agent, patient and entity, so a query reads only the rows it names and then only the event
 * lines of the page it returns. Built from the day's key file (`YYYY-MM-DD.keys.ndjson`), which
 * is derived data: when it does not account for every byte of the event file (a crash between
 * the two appends) it is rebuilt from the events.
 */
export class DayIndex {
  readonly rows: KeyRow[] = [];
  private byId: Map<string, number> | undefined;
  private readonly postings: Record<'a' | 'p' | 'e', Map<string, number[]> | undefined> = { a: undefined, p: undefined, e: undefined };

  /** Byte length of the event file these rows account for. */
  end = 0;

  add(row: KeyRow): void {
    this.end = row.o + row.n;
    if (row.torn) return;
    const n = this.rows.push(row) - 1;
    this.byId?.set(row.i, n);
    for (const f of ['a', 'p', 'e'] as const) {
      const map = this.postings[f];
      if (map) post(map, row[f], n);
    }
  }

  /** Posting list of one field, built on first use (a day loaded for a date query never needs them). */
  private posting(f: 'a' | 'p' | 'e'): Map<string, number[]> {
    let map = this.postings[f];
    if (!map) {
      map = this.postings[f] = new Map();
      this.rows.forEach((row, n) => post(map!, row[f], n));
    }
    return map;
  }

  private ids(): Map<string, number> {
    return (this.byId ??= new Map(this.rows.map((r, n) => [r.i, n])));
  }

  find(id: string): KeyRow | undefined {
    const n = this.ids().get(id);
    return n === undefined ? undefined : this.rows[n];
  }

  /** Rows matching the query, newest first. */
  match(q: AuditQuery): KeyRow[] {
    const candidates = this.candidates(q);
    const out = (candidates ? candidates.map((n) => this.rows[n]) : this.rows).filter((r) => matchesKeys(r, q));
    return out.sort(newestFirst);
  }

  /** Row numbers from the most selective posting list the query names; undefined = every row. */
  private candidates(q: AuditQuery): number[] | undefined {
    if (q.id.length) return q.id[0].map((id) => this.ids().get(id)).filter((n): n is number => n !== undefined);
    let best: number[] | undefined;
    for (const [f, clauses] of [['a', q.agent], ['p', q.patient], ['e', q.entity]] as const) {
      for (const clause of clauses) {
        const map = this.posting(f);
        const union = [...new Set(clause.flatMap((v) => map.get(v) ?? []))];
        if (!best || union.length < best.length) best = union;
      }
    }
    return best;
  }
}

/** Newest first: by time, then by place in the file. */
export const newestFirst = (x: KeyRow, y: KeyRow): number => y.t - x.t || y.o - x.o;

/** Adds row number `n` to the posting lists of `values`. */
function post(map: Map<string, number[]>, values: readonly string[], n: number): void {
  for (const v of values) {
    const list = map.get(v);
    if (list) list.push(n);
    else map.set(v, [n]);
  }
}

/** The key row of `n` bytes at `o` that are no event. */
const tornRow = (o: number, n: number): KeyRow => ({ i: '', t: 0, a: [], p: [], e: [], s: [], o, n, torn: true });

/**
 * The complete (newline-terminated) lines of a file from byte `from`, one read chunk's worth at a
 * time, each with its byte offset and length (newline included): a caller may await between
 * batches, and no file is ever held whole (a busy day's key file outgrows V8's longest string).
 */
async function* lineBatches(file: string, from = 0): AsyncGenerator<Array<{ line: Buffer; o: number; n: number }>> {
  let carry: Buffer = Buffer.alloc(0);
  let offset = from;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20, start: from }) as AsyncIterable<Buffer>) {
    const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const batch: Array<{ line: Buffer; o: number; n: number }> = [];
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
      batch.push({ line: buf.subarray(start, nl), o: offset, n: nl - start + 1 });
      offset += nl - start + 1;
      start = nl + 1;
    }
    carry = buf.subarray(start);
    if (batch.length) yield batch;
  }
}

/** Calls `onLine` for every complete line of a file from byte `from` (see lineBatches). */
export async function forEachLine(file: string, onLine: (line: Buffer, offset: number, length: number) => void, from = 0): Promise<void> {
  for await (const batch of lineBatches(file, from)) for (const { line, o, n } of batch) onLine(line, o, n);
}

/** The key file line of a row. */
const keyLine = (r: KeyRow) => JSON.stringify(r) + '\n';

/** The key row of the event line at `o` (`n` bytes with its newline); a line that is no entry is torn. */
function rowOfLine(line: string, o: number, n: number): KeyRow {
  try {
    return { ...entryKeys(JSON.parse(line) as AuditEntry), o, n };
  } catch {
    return tornRow(o, n);
  }
}

/** Key lines gathered before they are appended to the key file (about 2 MB). */
const KEY_LINES_PER_APPEND = 10_000;

/**
 * Streams a day's key rows to a visitor, in file order: the rows of its key file, then those of
 * the event lines it does not cover yet, which are appended to it (appends do not write key rows:
 * they would double the trail's writes on every request). A key file that does not match the
 * events (torn, overlapping) is rebuilt from them. `start` gives the visitor: it is asked again,
 * for a fresh one, when a rebuild voids the rows seen so far. Returns the event bytes covered.
 * Nothing is held but the visitor's own state, so a day of any size can be read.
 */
export async function scanDay(eventsFile: string, keysFile: string, start: () => (row: KeyRow) => void): Promise<number> {
  const size = (await stat(eventsFile)).size;
  let visit = start();
  let end = 0;
  let keysSize = -1;
  try {
    keysSize = (await stat(keysFile)).size;
  } catch {
    // no key file yet: every line is indexed below
  }
  if (keysSize >= 0) {
    let consistent = true;
    let keysEnd = 0;
    for await (const batch of lineBatches(keysFile)) {
      for (const { line, o, n } of batch) {
        let row: KeyRow | undefined;
        try {
          row = JSON.parse(line.toString('utf8')) as KeyRow;
        } catch {
          row = undefined;
        }
        if (!row || row.o !== end || row.o + row.n > size) {
          consistent = false;
          break;
        }
        end = row.o + row.n;
        keysEnd = o + n;
        visit(row);
      }
      if (!consistent) break;
    }
    // A torn last key line is no row either: the file is rebuilt rather than appended after it.
    if (!consistent || keysEnd !== keysSize) {
      await writeFile(keysFile, '', { mode: 0o600 });
      visit = start();
      end = 0;
    }
  }
  if (end >= size) return end;
  let lines: string[] = [];
  for await (const batch of lineBatches(eventsFile, end)) {
    for (const { line, o, n } of batch) {
      const row = rowOfLine(line.toString('utf8'), o, n);
      visit(row);
      lines.push(keyLine(row));
      end = o + n;
    }
    if (lines.length >= KEY_LINES_PER_APPEND) {
      await appendFile(keysFile, lines.join(''), { mode: 0o600 });
      lines = [];
    }
  }
  // An unterminated last line (a write torn by a crash) is closed, so later appends start a fresh line.
  if (end < size) {
    await appendFile(eventsFile, '\n');
    const row = tornRow(end, size - end + 1);
    visit(row);
    lines.push(keyLine(row));
    end = size + 1;
  }
  if (lines.length) await appendFile(keysFile, lines.join(''), { mode: 0o600 });
  return end;
}

/** Loads a day's index (scanDay), which repairs a key file a crash left behind. */
export async function loadDayIndex(eventsFile: string, keysFile: string): Promise<DayIndex> {
  let idx = new DayIndex();
  await scanDay(eventsFile, keysFile, () => {
    const fresh = (idx = new DayIndex());
    return (row) => fresh.add(row);
  });
  return idx;
}
