/**
 * FHIR decimals keep the precision they were written with (datatypes.html#decimal: "a rational
 * number with implicit precision"; 1.50 mg is not 1.5 mg), but a JavaScript number does not:
 * JSON.parse reads 1.50 as 1.5, 1E-22 as 1e-22 and 12345678901234567890 as 12345678901234567000.
 * parseJson keeps the text of every number that its value would not write again as it was, by
 * the object (or array) holding it and its key; stringifyJson writes that text back while the
 * value is still the one it was read as. A number changed since is written as its new value.
 */

/** Number texts a JS number does not give back, by holder object and key (array index as text). */
const written = new WeakMap<object, Map<string, string>>();
/** Objects with such a number at or below them, as parsed (containers made later are not marked). */
const bearing = new WeakSet<object>();

/**
 * Every number that may need its own text: after `:`, `,` or `[` and before `,`, `}` or `]`, one
 * with an exponent, a fraction ending in 0, 16 or more digits and points, below 1e-6, or -0.
 * Any other JSON number has at most 15 significant digits, none of them trailing zeros of a
 * fraction, and lies where JS writes numbers without an exponent, so JS writes it again as it
 * was. Each candidate is tried; only when one does not round-trip is the text walked (a string
 * that looks so costs only that walk). Most texts have none, or only long numbers a JS number wrote.
 */
const CANDIDATE = /[:,[]\s*(-?(?:\d+\.\d*0|\d+(?:\.\d+)?[eE][+-]?\d+|[\d.]{16,}|0\.0{6}\d*)|-0)(?=\s*[,}\]])/g;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Whether a JS number writes this JSON number text again exactly. */
const roundTrips = (text: string) => String(Number(text)) === text;

/** JSON.parse, keeping the text of the numbers that would otherwise lose their precision. */
export function parseJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  CANDIDATE.lastIndex = 0;
  for (let m = CANDIDATE.exec(text); m; m = CANDIDATE.exec(text)) {
    if (roundTrips(m[1])) continue;
    collect(text, value);
    break;
  }
  return value;
}

/** JSON.stringify, writing numbers as parseJson read them. */
export function stringifyJson(value: unknown, space?: number): string {
  return hasBearing(value) ? textWithKept(value, space) : JSON.stringify(value, null, space);
}

/** Numbers with kept text become marked strings, whose quotes and mark are then taken off. */
function textWithKept(value: unknown, space?: number): string {
  const mark = newMark();
  return unmarkText(JSON.stringify(value, marking(mark), space), mark);
}

/**
 * A mark no data holds (a control character and a random part): a string of it plus a number's
 * text stands for that number while values are moved around (see markTexts).
 */
export function newMark(): string {
  return `\u0001num${Math.random().toString(36).slice(2)}:`;
}

/** A copy in which each number with a kept text is the string mark + text (what JSON Patch moves stays whole). */
export function markTexts<T>(value: T, mark: string): T {
  return JSON.parse(JSON.stringify(value, marking(mark))) as T;
}

/** The reverse of markTexts: each string mark + text is that number again, written so. */
export function unmarkTexts<T>(value: T, mark: string): T {
  return parseJson(unmarkText(JSON.stringify(value), mark)) as T;
}

function marking(mark: string) {
  return function (this: object, key: string, v: unknown): unknown {
    if (typeof v !== 'number') return v;
    const kept = written.get(this)?.get(key);
    return kept === undefined || !Object.is(Number(kept), v) ? v : mark + kept;
  };
}

/** JSON text with every marked string replaced by its number's text (a number's text needs no escaping). */
function unmarkText(text: string, mark: string): string {
  const quoted = JSON.stringify(mark).slice(0, -1);
  let out = '';
  let from = 0;
  for (let at = text.indexOf(quoted); at >= 0; at = text.indexOf(quoted, from)) {
    const end = text.indexOf('"', at + quoted.length);
    out += text.slice(from, at) + text.slice(at + quoted.length, end);
    from = end + 1;
  }
  return out + text.slice(from);
}

/**
 * Lets `to`, made from `from` by copying members (a stamped or subsetted resource), write the
 * numbers it took from `from` as `from` would.
 */
export function carryTexts(from: object, to: object): void {
  const m = written.get(from);
  if (m) written.set(to, m);
  if (bearing.has(from)) bearing.add(to);
}

/** stringifyJson's text of `value` when some number of it needs its kept text, else undefined (JSON.stringify would do). */
export function keptText(value: unknown): string | undefined {
  return hasBearing(value) ? textWithKept(value) : undefined;
}

/** The text `holder[key]` (a number) is written with: its kept text, while it still holds that value. */
export function numberText(holder: object, key: string, value: number): string {
  const kept = written.get(holder)?.get(key);
  return kept !== undefined && Object.is(Number(kept), value) ? kept : JSON.stringify(value);
}

/** A stored version's resource with its numbers' texts, for what is written out again (a stored text is JSON). */
export function resourceOf<R>(v: { json?: string }): R {
  return parseJson(v.json!) as R;
}

/** Whether kept number texts are at or below `value` (a container made after parsing is looked into). */
function hasBearing(value: unknown): boolean {
  if (!value || typeof value !== 'object') return false;
  if (bearing.has(value)) return true;
  // What JSON.stringify will write in its place (a Bundle entry holding a stored text parses it).
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return hasBearing(toJSON.call(value));
  if (Array.isArray(value)) {
    for (const v of value) if (hasBearing(v)) return true;
    return false;
  }
  for (const k in value) if (hasBearing((value as Record<string, unknown>)[k])) return true;
  return false;
}

function keep(holder: object, key: string, text: string, containers: object[]): void {
  let m = written.get(holder);
  if (!m) written.set(holder, (m = new Map()));
  m.set(key, text);
  bearing.add(holder);
  for (const c of containers) bearing.add(c);
}

/** The end of the string token starting at `i` (one past its closing quote). */
function stringEnd(text: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = text.indexOf('"', j);
    let back = 0;
    while (text.charCodeAt(q - 1 - back) === 92) back++;
    if (back % 2 === 0) return q + 1;
    j = q + 1;
  }
}

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return i;
    i++;
  }
}

/**
 * Walks the text (already read by JSON.parse, so well formed) in step with its value, keeping
 * the text of each number that does not round-trip. Iterative: nesting depth costs no stack.
 */
function collect(text: string, root: unknown): void {
  const containers: object[] = [];
  const counts: number[] = [];
  let holder: object = { '': root };
  let key = '';
  let i = 0;
  const readKey = (): string => {
    const start = skipSpace(text, i);
    const end = stringEnd(text, start);
    i = skipSpace(text, end) + 1; // past ':'
    const token = text.slice(start, end);
    return token.includes('\\') ? (JSON.parse(token) as string) : token.slice(1, -1);
  };
  for (;;) {
    // A value for holder[key] starts at i.
    i = skipSpace(text, i);
    const c = text.charCodeAt(i);
    let closed = true;
    if (c === 123 /* { */ || c === 91 /* [ */) {
      const v = (holder as Record<string, unknown>)[key];
      // A repeated key leaves the last value in place: the walk goes on through a stand-in.
      const node: object = v && typeof v === 'object' ? v : c === 91 ? [] : {};
      i = skipSpace(text, i + 1);
      if (text.charCodeAt(i) === (c === 123 ? 125 : 93)) i++;
      else {
        containers.push(node);
        counts.push(0);
        holder = node;
        if (c === 123) key = readKey();
        else key = '0';
        closed = false;
      }
    } else if (c === 34 /* " */) {
      i = stringEnd(text, i);
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      NUMBER.lastIndex = i;
      const tok = NUMBER.exec(text)![0];
      i += tok.length;
      if (!roundTrips(tok)) keep(holder, key, tok, containers);
    } else {
      i += c === 102 /* false */ ? 5 : 4;
    }
    if (!closed) continue;
    // After a value: a comma, or the end of containers.
    for (;;) {
      if (containers.length === 0) return;
      i = skipSpace(text, i);
      const d = text.charCodeAt(i++);
      const top = containers[containers.length - 1];
      if (d === 44 /* , */) {
        holder = top;
        if (Array.isArray(top)) key = String(++counts[counts.length - 1]);
        else key = readKey();
        break;
      }
      containers.pop();
      counts.pop();
    }
  }
}
