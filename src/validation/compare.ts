/** fixed[x]: the instance equals the value exactly (element ids and extensions aside). */
export function equalsFixed(instance: unknown, fixed: unknown): boolean {
  if (fixed === null || typeof fixed !== 'object') return instance === fixed;
  if (typeof instance !== 'object' || instance === null) return false;
  if (Array.isArray(fixed)) {
    return Array.isArray(instance) && instance.length === fixed.length && fixed.every((f, i) => equalsFixed(instance[i], f));
  }
  const inst = instance as Record<string, unknown>;
  const fix = fixed as Record<string, unknown>;
  for (const key of Object.keys(inst)) {
    if (key === 'id' || key === 'extension') continue;
    if (!(key in fix)) return false;
  }
  for (const key of Object.keys(fix)) if (!equalsFixed(inst[key], fix[key])) return false;
  return true;
}

/** pattern[x]: the instance holds at least what the pattern holds. */
export function matchesPattern(instance: unknown, pattern: unknown): boolean {
  if (pattern === null || typeof pattern !== 'object') return instance === pattern;
  if (Array.isArray(pattern)) {
    const items = Array.isArray(instance) ? instance : instance === undefined ? [] : [instance];
    return pattern.every((p) => items.some((i) => matchesPattern(i, p)));
  }
  if (typeof instance !== 'object' || instance === null) return false;
  const inst = instance as Record<string, unknown>;
  for (const [key, value] of Object.entries(pattern as Record<string, unknown>)) {
    if (!matchesPattern(inst[key], value)) return false;
  }
  return true;
}

export function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Where an instance departs from a fixed value or pattern, element by element (one issue per element). */
export function valueMismatches(instance: unknown, expected: unknown, path: string, exact: boolean): { path: string; message: string }[] {
  if (expected === null || typeof expected !== 'object') {
    return instance === expected ? [] : [{ path, message: `Value ${show(instance)} is not ${show(expected)}` }];
  }
  if (Array.isArray(expected)) {
    const items = Array.isArray(instance) ? instance : instance === undefined ? [] : [instance];
    if (items.length === 1 && expected.length === 1) return valueMismatches(items[0], expected[0], `${path}[0]`, exact);
    const ok = exact ? equalsFixed(items, expected) : matchesPattern(items, expected);
    return ok ? [] : [{ path, message: `Value ${show(instance)} does not contain ${show(expected)}` }];
  }
  if (typeof instance !== 'object' || instance === null || Array.isArray(instance)) {
    return [{ path, message: `Value ${show(instance)} is not ${show(expected)}` }];
  }
  const inst = instance as Record<string, unknown>;
  const out: { path: string; message: string }[] = [];
  for (const [key, value] of Object.entries(expected as Record<string, unknown>)) {
    if (inst[key] === undefined) out.push({ path: `${path}.${key}`, message: `Missing ${key}: expected ${show(value)}` });
    else out.push(...valueMismatches(inst[key], value, `${path}.${key}`, exact));
  }
  if (exact) {
    for (const key of Object.keys(inst)) {
      if (key !== 'id' && key !== 'extension' && !(key in (expected as object)))
        out.push({ path: `${path}.${key}`, message: `Element ${key} is not allowed by the fixed value` });
    }
  }
  return out.length ? out : [{ path, message: `Value ${show(instance)} does not match ${show(expected)}` }];
}
