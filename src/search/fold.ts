/**
 * String normalisation shared by index extraction and query compilation, so that both sides
 * fold the same way: FHIR string search is case- and accent-insensitive.
 */
export function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** Escapes every regex metacharacter, so a client string can only ever match itself. */
export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
