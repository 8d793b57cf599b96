/**
 * The Accept header (RFC 9110 12.5.1), read once for every kind of answer: FHIR JSON
 * (format.ts) and a Binary's own content (binary-native.ts).
 */

/** One media range: its type (lower case, without parameters), its parameters other than q, its weight. */
export interface MediaRange {
  type: string;
  params: ReadonlyMap<string, string>;
  /** 0 to 1; 0 means "not acceptable". */
  q: number;
  /** The range as written, for what reads parameters itself (fhirVersion). */
  text: string;
}

/** A weight as written (RFC 9110 12.4.2: 0 to 1, at most three decimals). */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/** The type of a media type or range, lower case, without its parameters. */
export const mediaType = (range: string) => {
  const semi = range.indexOf(';');
  return (semi < 0 ? range : range.slice(0, semi)).trim().toLowerCase();
};

/**
 * The ranges of an Accept value, in order. Empty list elements are left out (RFC 9110 5.6.1); a
 * weight that is not a qvalue counts as 1, as if absent; parameters after q are accept
 * extensions, not part of the range.
 */
export function parseAccept(accept: string): MediaRange[] {
  const out: MediaRange[] = [];
  for (const text of accept.split(',')) {
    const [head, ...rest] = text.split(';');
    const type = head.trim().toLowerCase();
    if (!type) continue;
    const params = new Map<string, string>();
    let q = 1;
    for (const p of rest) {
      const eq = p.indexOf('=');
      if (eq < 0) continue;
      const name = p.slice(0, eq).trim().toLowerCase();
      const value = p
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1');
      if (name === 'q') {
        q = QVALUE.test(value) ? Number(value) : 1;
        break;
      }
      params.set(name, value);
    }
    out.push({ type, params, q, text });
  }
  return out;
}

/** How a range fits a representation: 0 not at all, 1 `*\/*`, 2 `type/*`, 3 the type, 4 the type with parameters. */
function specificity(range: MediaRange, names: readonly string[]): number {
  if (names.includes(range.type)) return range.params.size ? 4 : 3;
  if (range.type === '*/*') return 1;
  if (range.type.endsWith('/*')) return names.some((n) => n.startsWith(range.type.slice(0, -1))) ? 2 : 0;
  return 0;
}

/**
 * The weight the ranges give a representation whose media type is one of `names` (aliases of
 * one representation): that of the most specific range that matches it, as RFC 9110 12.5.1
 * says ("the most specific reference has precedence"), 0 when none does. `fits` may refuse a
 * range whose parameters rule the representation out (another fhirVersion); it then matches
 * nothing. `specificity` tells an explicitly named representation from one a wildcard admits.
 */
export function weightOf(ranges: readonly MediaRange[], names: readonly string[], fits: (r: MediaRange) => boolean = () => true): { q: number; specificity: number } {
  let best = { q: 0, specificity: 0 };
  for (const r of ranges) {
    const s = specificity(r, names);
    if (s === 0 || s < best.specificity || !fits(r)) continue;
    // Equally specific ranges (the same type twice): the better weight.
    best = s > best.specificity ? { q: r.q, specificity: s } : { q: Math.max(best.q, r.q), specificity: s };
  }
  return best;
}
