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
