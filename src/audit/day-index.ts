import { createReadStream } from 'node:fs';
import { appendFile, readFile, rename, stat, writeFile } from 'node:fs/promises';
import type { AuditEvent } from 'fhir/r4.js';
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

/** Calls `onLine` for every complete (newline-terminated) line of a file, with its byte offset and length. */
export async function forEachLine(file: string, onLine: (line: Buffer, offset: number, length: number) => void): Promise<void> {
  let carry: Buffer = Buffer.alloc(0);
  let offset = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
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
export const keyLine = (r: KeyRow) => JSON.stringify(r) + '\n';

/** Loads a day's index from its key file, rebuilding the key file from the events when it is behind. */
export async function loadDayIndex(eventsFile: string, keysFile: string): Promise<DayIndex> {
  const size = (await stat(eventsFile)).size;
  const idx = new DayIndex();
  let text = '';
  try {
    text = await readFile(keysFile, 'utf8');
  } catch {
    // no key file yet: rebuilt below
  }
  let consistent = true;
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const row = JSON.parse(line) as KeyRow;
      if (row.o < idx.end) consistent = false;
      idx.add(row);
    } catch {
      consistent = false;
    }
  }
  if (consistent && idx.end === size) return idx;
  return rebuildDayIndex(eventsFile, keysFile);
}

/** Re-derives a day's key file from its event file (torn lines are skipped). */
export async function rebuildDayIndex(eventsFile: string, keysFile: string): Promise<DayIndex> {
  const idx = new DayIndex();
  const lines: string[] = [];
  await forEachLine(eventsFile, (line, o, n) => {
    let row: KeyRow;
    try {
      row = { ...entryKeys(JSON.parse(line.toString('utf8')) as AuditEntry), o, n };
    } catch {
      row = tornRow(o, n);
    }
    idx.add(row);
    lines.push(keyLine(row));
  });
  // An unterminated last line (a write torn by a crash) is closed, so later appends start a fresh line.
  const size = (await stat(eventsFile)).size;
  if (idx.end < size) {
    await appendFile(eventsFile, '\n');
    const row = tornRow(idx.end, size - idx.end + 1);
    idx.add(row);
    lines.push(keyLine(row));
  }
  const tmp = `${keysFile}.tmp`;
  await writeFile(tmp, lines.join(''), { mode: 0o600 });
  await rename(tmp, keysFile);
  return idx;
}
