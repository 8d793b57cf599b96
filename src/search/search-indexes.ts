/**
 * MongoDB index specs for the search document shapes written by extract.ts. Each array of
 * index entries gets one compound multikey index led by the parameter code, so a handful of
 * indexes serve every parameter. The embedded store hashes the first two element keys.
 */
export const searchIndexes: Array<Record<string, 1 | -1>> = [
  { type: 1, id: 1 },
  { type: 1, lu: 1 },
  { type: 1, 'idx.tok.p': 1, 'idx.tok.c': 1, 'idx.tok.s': 1 },
  { type: 1, 'idx.ref.p': 1, 'idx.ref.r': 1 },
  { type: 1, 'idx.str.p': 1, 'idx.str.v': 1 },
  { type: 1, 'idx.dt.p': 1, 'idx.dt.lo': 1, 'idx.dt.hi': 1 },
  { type: 1, 'idx.uri.p': 1, 'idx.uri.v': 1 },
  // UCUM quantities are searched on their canonical unit and value; others on the value as written
  { type: 1, 'idx.qty.p': 1, 'idx.qty.cu': 1, 'idx.qty.clo': 1 },
  { type: 1, 'idx.qty.p': 1, 'idx.qty.lo': 1 },
];
