import { readFile, rename, writeFile } from 'node:fs/promises';
import type { AuditQuery } from './audit-query.js';
import type { DayIndex, KeyRow } from './day-index.js';

/**
 * Which agents and patients one closed day of the audit trail holds (`YYYY-MM-DD.summary.json`),
 * so a search for an agent or patient skips the days without them, unread. Valid only while the
 * day's event file still has the size it summarises (a late append makes it stale; it is then
 * rewritten the next time the day is loaded).
 */
export interface DaySummary {
  /** Size of the event file summarised, bytes. */
  end: number;
  a: ReadonlySet<string>;
  p: ReadonlySet<string>;
}

export function summarize(idx: DayIndex): DaySummary {
  const sum = { end: idx.end, a: new Set<string>(), p: new Set<string>() };
  for (const r of idx.rows) addToSummary(sum, r);
  return sum;
}

/** Adds one event's agents and patients to a summary being built (a load's, or a stream's). */
export function addToSummary(sum: { a: Set<string>; p: Set<string> }, row: Pick<KeyRow, 'a' | 'p'>): void {
  for (const v of row.a) sum.a.add(v);
  for (const v of row.p) sum.p.add(v);
}

/** The summary in `file` when it covers an event file of `size` bytes. */
export async function readSummary(file: string, size: number): Promise<DaySummary | undefined> {
  try {
    const raw = JSON.parse(await readFile(file, 'utf8')) as { end: number; a: string[]; p: string[] };
    return raw.end === size ? { end: raw.end, a: new Set(raw.a), p: new Set(raw.p) } : undefined;
  } catch {
    return undefined;
  }
}

export async function writeSummary(file: string, s: DaySummary): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify({ end: s.end, a: [...s.a], p: [...s.p] }), { mode: 0o600 });
  await rename(tmp, file);
}

/** Whether the day can hold events the query's agent and patient clauses ask for. */
export function mayMatch(s: DaySummary, q: AuditQuery): boolean {
  return q.agent.every((c) => c.some((v) => s.a.has(v))) && q.patient.every((c) => c.some((v) => s.p.has(v)));
}
