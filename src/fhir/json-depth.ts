/** Nesting depth of a parsed JSON value, stopping once past `limit`. */
export function jsonDepth(value: unknown, limit: number): number {
  // Parsed JSON only: a form or a Binary's content (bytes) is no JSON tree.
  if (!isJsonNode(value)) return 0;
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (d > max) max = d;
    if (max > limit) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v as object)) if (typeof child === 'object' && child !== null) stack.push([child, d + 1]);
  }
  return max;
}

function isJsonNode(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return Array.isArray(v) || proto === Object.prototype || proto === null;
}
