import { SORT_INDEXED } from './sort-indexed.js';

/**
 * MongoDB index specs for the search document shapes written by extract.ts. Each array of
 * index entries gets one compound multikey index led by the parameter code, so a handful of
 * indexes serve every parameter. The embedded store hashes the first two element keys of the
 * first spec per array (other specs it leaves to MongoDB).
 *
 * Sorting: the engine sorts on [key, type, id]; with `type` fixed by the query, MongoDB reads
 * that order straight from {type, key, id} (in either direction, for previous-page links), so
 * a sorted page costs no in-memory sort of every match. One index per (parameter, direction)
 * for the sort parameters in sort-indexed.ts, and both directions of _lastUpdated.
 */
export const searchIndexes: Array<Record<string, 1 | -1>> = [
  { type: 1, id: 1 },
  { type: 1, lu: 1, id: 1 },
  { type: 1, lu: -1, id: 1 },
  { type: 1, 'idx.tok.p': 1, 'idx.tok.c': 1, 'idx.tok.s': 1 },
  { type: 1, 'idx.ref.p': 1, 'idx.ref.r': 1 },
  { type: 1, 'idx.str.p': 1, 'idx.str.v': 1 },
  { type: 1, 'idx.dt.p': 1, 'idx.dt.lo': 1, 'idx.dt.hi': 1 },
  { type: 1, 'idx.uri.p': 1, 'idx.uri.v': 1 },
  // UCUM quantities are searched on their canonical unit and value; others on the value as written
  { type: 1, 'idx.qty.p': 1, 'idx.qty.cu': 1, 'idx.qty.clo': 1 },
  { type: 1, 'idx.qty.p': 1, 'idx.qty.lo': 1 },
  // contained resources, by the reference parameter that points to them and their type (chains)
  { type: 1, 'idx.ctd.p': 1, 'idx.ctd.t': 1 },
  ...SORT_INDEXED.flatMap((code) => [
    { type: 1, [`idx.srt.${code}.a`]: 1, id: 1 } as Record<string, 1 | -1>,
    { type: 1, [`idx.srt.${code}.d`]: -1, id: 1 } as Record<string, 1 | -1>,
  ]),
];
