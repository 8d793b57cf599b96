import type { IndexValues } from '../port.js';
import { flat } from './flat-string.js';

/** Longest string worth sharing: systems, codes, references, units, sort keys. */
const MAX_LENGTH = 256;

/**
 * One copy of each string that index values repeat across resources: every Condition's
 * clinical-status carries the same system and code, every resource of a patient the same
 * reference. Parsed request bodies give each resource its own copies, which in memory are
 * most of the index values' weight. Bounded: when `capacity` distinct strings are held, the
 * table starts over. What versions still hold stays shared among them; what only superseded or
 * deleted versions held is let go; and strings of new data are shared again (a table that simply
 * stopped growing would hold the first data's strings for ever and share nothing new).
 */
export class Interner {
  private readonly table = new Map<string, string>();

  constructor(private readonly capacity = 2_000_000) {}

  /** Strings held (for tests). */
  get size(): number {
    return this.table.size;
  }

  str(s: string): string {
    if (s.length > MAX_LENGTH) return s;
    const known = this.table.get(s);
    if (known !== undefined) return known;
    if (this.table.size >= this.capacity) this.table.clear();
    // Kept flat: the hash indexes are keyed by these strings, and queries look them up with their own copies.
    this.table.set(s, flat(s));
    return s;
  }

  /** Replaces, in place, the strings of index values (arrays and objects of entries) by shared copies. */
  index(idx: IndexValues): IndexValues {
    this.walk(idx as unknown as Record<string, unknown>, 0);
    return idx;
  }

  private walk(node: Record<string, unknown> | unknown[], depth: number): void {
    if (depth > 4) return;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const v = node[i];
        if (typeof v === 'string') node[i] = this.str(v);
        else if (v && typeof v === 'object') this.walk(v as Record<string, unknown>, depth + 1);
      }
      return;
    }
    for (const k in node) {
      const v = node[k];
      if (typeof v === 'string') node[k] = this.str(v);
      else if (v && typeof v === 'object') this.walk(v as Record<string, unknown>, depth + 1);
    }
  }
}
