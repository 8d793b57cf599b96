import { createReadStream } from 'node:fs';
import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
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
    return out.sort((x, y) => y.t - x.t || y.o - x.o);
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

/** Calls `onLine` for every complete (newline-terminated) line of a file from byte `from`, with its byte offset and length. */
export async function forEachLine(file: string, onLine: (line: Buffer, offset: number, length: number) => void, from = 0): Promise<void> {
  let carry: Buffer = Buffer.alloc(0);
  let offset = from;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20, start: from }) as AsyncIterable<Buffer>) {
    const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
      onLine(buf.subarray(start, nl), offset, nl - start + 1);
      offset += nl - start + 1;
      start = nl + 1;
    }
    carry = buf.subarray(start);
  }
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

/**
 * Loads a day's index: the rows of its key file, then the event lines after them. Appends do not
 * write key rows (they would double the trail's writes on every request): a load indexes the
 * lines the key file does not cover yet and appends their rows to it, so the next load reads them.
 * A key file that does not match the events (torn, overlapping) is rebuilt from the events.
 */
export async function loadDayIndex(eventsFile: string, keysFile: string): Promise<DayIndex> {
  const size = (await stat(eventsFile)).size;
  const idx = new DayIndex();
  let text = '';
  try {
    text = await readFile(keysFile, 'utf8');
  } catch {
    // no key file yet: every line is indexed below
  }
  for (const line of text.split('\n')) {
    if (!line) continue;
    let row: KeyRow;
    try {
      row = JSON.parse(line) as KeyRow;
    } catch {
      return rebuildDayIndex(eventsFile, keysFile);
    }
    if (row.o !== idx.end || row.o + row.n > size) return rebuildDayIndex(eventsFile, keysFile);
    idx.add(row);
  }
  if (idx.end < size) await indexTail(eventsFile, keysFile, idx, size);
  return idx;
}

/** Re-derives a day's key file from its event file. */
async function rebuildDayIndex(eventsFile: string, keysFile: string): Promise<DayIndex> {
  const idx = new DayIndex();
  await writeFile(keysFile, '', { mode: 0o600 });
  await indexTail(eventsFile, keysFile, idx, (await stat(eventsFile)).size);
  return idx;
}

/** Indexes the event lines from idx.end and appends their rows to the key file. */
async function indexTail(eventsFile: string, keysFile: string, idx: DayIndex, size: number): Promise<void> {
  const lines: string[] = [];
  await forEachLine(
    eventsFile,
    (line, o, n) => {
      const row = rowOfLine(line.toString('utf8'), o, n);
      idx.add(row);
      lines.push(keyLine(row));
    },
    idx.end,
  );
  // An unterminated last line (a write torn by a crash) is closed, so later appends start a fresh line.
  if (idx.end < size) {
    await appendFile(eventsFile, '\n');
    const row = tornRow(idx.end, size - idx.end + 1);
    idx.add(row);
    lines.push(keyLine(row));
  }
  if (lines.length) await appendFile(keysFile, lines.join(''), { mode: 0o600 });
}
