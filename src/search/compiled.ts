import type { Filter } from '../store/port.js';
import type { IdxField } from './index-entries.js';

/**
 * The document path of each idx field, written out: a computed key built per call
 * (`idx.${field}`) is a new string that each filter object must first look up in V8's table of
 * property names.
 */
const PATH: Record<IdxField, string> = {
  str: 'idx.str',
  tok: 'idx.tok',
  dt: 'idx.dt',
  num: 'idx.num',
  qty: 'idx.qty',
  ref: 'idx.ref',
  uri: 'idx.uri',
  cmp: 'idx.cmp',
};

/** `{ 'idx.<field>': { $elemMatch: { p, ...cond } } }`: one entry of the parameter meets cond. */
export function elem(field: IdxField, p: string, cond: Filter): Filter {
  return { [PATH[field]]: { $elemMatch: { p, ...cond } } };
}

export function anyOf(filters: Filter[]): Filter {
  if (filters.length === 1) return filters[0];
  return { $or: filters };
}

/** Whether a filter has no condition (without allocating its key list: this runs several times per search). */
function isEmpty(f: Filter): boolean {
  for (const _ in f) return false;
  return true;
}

/**
 * The conjunction of filters, empty ones dropped and nested conjunctions flattened: one flat
 * `$and` is what the stores' indexes decide clause by clause.
 */
export function allOf(filters: Filter[]): Filter {
  const parts: Filter[] = [];
  for (const f of filters) {
    if (isEmpty(f)) continue;
    if (Array.isArray(f.$and) && Object.keys(f).length === 1) parts.push(...(f.$and as Filter[]));
    else parts.push(f);
  }
  if (parts.length === 0) return {};
  if (parts.length === 1) return parts[0];
  return { $and: parts };
}

export function none(filters: Filter[]): Filter {
  return { $nor: filters };
}

/** :missing=true|false for a parameter stored in idx.<field>. */
export function missing(field: IdxField, p: string, value: string, param: string, bad: (msg: string) => Error): Filter {
  if (value !== 'true' && value !== 'false') throw bad(`':missing' on '${param}' takes true or false`);
  const has = { [`idx.${field}`]: { $elemMatch: { p } } };
  return value === 'true' ? none([has]) : has;
}

/** A filter that matches nothing, for values that cannot match anything (e.g. a malformed id). */
export const NOTHING: Filter = { id: { $in: [] } };
