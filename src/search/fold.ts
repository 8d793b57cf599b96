/**
 * String normalisation shared by index extraction and query compilation, so that both sides
 * fold the same way: FHIR string search is case- and accent-insensitive.
 */
export function fold(s: string): string {
  // ß (and ẞ, whose lower case it is) folds to ss, as Unicode case folding has it: 'strasse' finds Straße.
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/ß/g, 'ss');
}

/** Escapes every regex metacharacter, so a client string can only ever match itself. */
export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
