/**
 * Whether JSON text repeats a property name inside one object. JSON.parse keeps the last value
 * silently (`"gender":"male","gender":"female"` is read as female), so a client's mistake would be
 * stored as a guess. The text's property names are counted (strings followed by ':', found by
 * jumping from quote to quote) and compared with the properties the parsed value has: fewer in the
 * value means some name came twice. Linear, and no second parse.
 */
export function hasDuplicateKeys(text: string, parsed: unknown): boolean {
  return keysInText(text) !== keysInValue(parsed);
}

function keysInText(text: string): number {
  let n = 0;
  let i = text.indexOf('"');
  while (i >= 0) {
    // The closing quote: the next one not escaped (preceded by an even number of backslashes).
    let end = text.indexOf('"', i + 1);
    while (end > 0) {
      let slashes = 0;
      for (let k = end - 1; text.charCodeAt(k) === 92; k--) slashes++;
      if (slashes % 2 === 0) break;
      end = text.indexOf('"', end + 1);
    }
    if (end < 0) return n; // not JSON; JSON.parse has already said so
    let k = end + 1;
    while (k < text.length && (text.charCodeAt(k) === 32 || text.charCodeAt(k) === 10 || text.charCodeAt(k) === 13 || text.charCodeAt(k) === 9)) k++;
    if (text.charCodeAt(k) === 58) n++; // ':'
    i = text.indexOf('"', k);
  }
  return n;
}

/** Properties of every object in the value; a loop, not recursion (the depth limit is checked after parsing). */
function keysInValue(root: unknown): number {
  let n = 0;
  const stack: unknown[] = [root];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (const x of v) if (x !== null && typeof x === 'object') stack.push(x);
      continue;
    }
    for (const k in v as Record<string, unknown>) {
      n++;
      const x = (v as Record<string, unknown>)[k];
      if (x !== null && typeof x === 'object') stack.push(x);
    }
  }
  return n;
}
