import type { IndexValues, Made } from '../port.js';
import { parseJson, stringifyJson } from '../../fhir/json-decimals.js';

/** One record of a commit-log line: a version a transaction wrote (see EmbeddedStore's logLine). */
export interface LogRecord {
  t: string;
  i: string;
  v: number;
  l: number;
  /** How the version was made, where its number does not tell (Made; read with madeOf). */
  m?: string;
  x?: IndexValues;
  /** Set on an index-only record (reindex): new index values for version v, no new version. */
  ix?: IndexValues;
  /** The resource's JSON text as stored; undefined for a deletion or an index-only record. */
  json?: string;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const R = 0x72;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** A line of records, as readLogLine reads it. */
export const logLineOf = (records: readonly string[]): string => `[${records.join(',')}]`;

/**
 * The record of a version: type, id, version, lastUpdated, then its index values and, last, the
 * resource as its exact JSON text (what readLogLine's scan relies on); a deletion has neither.
 */
export function versionRecord(v: { type: string; id: string; vid: number; lu: number; json: string | undefined; made?: Made }, idx: IndexValues): string {
  const head = `{"t":${JSON.stringify(v.type)},"i":${JSON.stringify(v.id)},"v":${v.vid},"l":${v.lu}${v.made ? `,"m":"${v.made}"` : ''}`;
  if (v.json === undefined) return head + '}';
  return `${head},"x":${JSON.stringify(idx)},"r":${v.json}}`;
}

/** The record of a reindex: new index values for version `vid`, no new version. */
export function indexRecord(type: string, id: string, vid: number, idx: IndexValues): string {
  return `{"t":${JSON.stringify(type)},"i":${JSON.stringify(id)},"v":${vid},"l":0,"ix":${JSON.stringify(idx)}}`;
}

/**
 * The records of one line, `[{"t":..,"i":..,"v":..,"l":..,"x":{..},"r":<resource>},...]`. The
 * resource is written last and as the exact JSON text the store serves, so it is copied out of
 * the line as it is: only the small head of each record is parsed. Parsing every resource to
 * write it back as text was most of what a start-up on a large store spent (and most of its
 * garbage). A line of another shape is parsed whole; a malformed one throws, as JSON.parse does.
 */
export function readLogLine(line: Buffer): LogRecord[] {
  return scan(line) ?? parseWhole(line);
}

function parseWhole(line: Buffer): LogRecord[] {
  const records = parseJson(line.toString('utf8')) as Array<LogRecord & { r?: unknown }>;
  for (const r of records) {
    if (r.r !== undefined) r.json = stringifyJson(r.r);
    delete r.r;
  }
  return records;
}

/** The records by a scan of the bytes (UTF-8 continuation bytes never equal the ASCII marks); undefined when the line is not of the usual shape. */
function scan(buf: Buffer): LogRecord[] | undefined {
  const n = buf.length;
  if (n < 2 || buf[0] !== OPEN_ARRAY) return undefined;
  const out: LogRecord[] = [];
  let i = 1;
  if (buf[i] === CLOSE_ARRAY) return i === n - 1 ? out : undefined;
  for (;;) {
    if (buf[i] !== OPEN_OBJECT) return undefined;
    const start = i;
    let depth = 0;
    /** Position of the comma before `"r":` at the record's top level, while it is the last key. */
    let rKey = -1;
    for (; i < n; i++) {
      const c = buf[i];
      if (c === QUOTE) {
        for (i++; i < n && buf[i] !== QUOTE; i++) if (buf[i] === BACKSLASH) i++;
      } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
      else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        if (--depth === 0) break;
      } else if (c === COMMA && depth === 1) {
        rKey = buf[i + 1] === QUOTE && buf[i + 2] === R && buf[i + 3] === QUOTE && buf[i + 4] === COLON ? i : -1;
      }
    }
    if (i >= n || buf[i] !== CLOSE_OBJECT) return undefined;
    const end = i;
    let record: LogRecord;
    if (rKey >= 0) {
      record = JSON.parse(buf.toString('utf8', start, rKey) + '}') as LogRecord;
      record.json = buf.toString('utf8', rKey + 5, end);
    } else {
      record = JSON.parse(buf.toString('utf8', start, end + 1)) as LogRecord & { r?: unknown };
      if ((record as { r?: unknown }).r !== undefined) return undefined;
    }
    out.push(record);
    i = end + 1;
    if (buf[i] === COMMA) {
      i++;
      continue;
    }
    return buf[i] === CLOSE_ARRAY && i === n - 1 ? out : undefined;
  }
}

/** A record's `m` as the store holds it: anything else a line may say is no Made. */
export function madeOf(m: string | undefined): Made | undefined {
  return m === 'PUT' || m === 'PATCH' ? m : undefined;
}
