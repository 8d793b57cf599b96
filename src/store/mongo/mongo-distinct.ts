import { Query } from 'mingo';
import type { Collection, Document } from 'mongodb';
import type { DistinctQuery } from '../port.js';
import type { VersionDoc } from './mongo-version.js';
import { distinctCollector } from '../distinct-elements.js';

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The element conditions of a distinct query: `where` fields, and the value's prefix and lower bound. */
function elementConditions(q: DistinctQuery): Document {
  const value: Document = {};
  if (q.prefix) value.$regex = `^${escapeRegex(q.prefix)}`;
  if (q.after !== undefined) value.$gt = q.after;
  return { ...q.where, [q.key]: Object.keys(value).length ? value : { $type: 'string' } };
}

/**
 * The distinct values pushed down to the server as one aggregation: the matching documents,
 * their index elements unwound, filtered, grouped by value, sorted and cut to the page. Only
 * values travel. `full` is the exact filter (live documents of the types); the element
 * conditions are also added as an `$elemMatch`, so the index on the elements narrows the match.
 */
export function distinctPipeline(full: Document, q: DistinctQuery): Document[] {
  const element = elementConditions(q);
  const dotted = Object.fromEntries(Object.entries(element).map(([k, v]) => [`e.${k}`, v]));
  return [
    { $match: { $and: [full, { [q.field]: { $elemMatch: element } }] } },
    { $project: { _id: 0, e: `$${q.field}` } },
    { $unwind: '$e' },
    { $match: dotted },
    { $group: { _id: `$e.${q.key}` } },
    { $sort: { _id: 1 } },
    { $limit: q.limit },
  ];
}

export async function aggregateDistinct(coll: Collection<VersionDoc>, full: Document, q: DistinctQuery): Promise<string[]> {
  const rows = await coll.aggregate<{ _id: string }>(distinctPipeline(full, q), { allowDiskUse: true }).toArray();
  return rows.map((r) => r._id);
}

/**
 * The same answer worked out here, for servers that cannot run the pipeline or the filter
 * exactly (FerretDB 1.x: `$elemMatch`): the server sends the index values of a superset of the
 * documents (`sent`; never the resources), the exact filter is applied in-process with mingo,
 * as in find. Streams the documents; holds only the distinct values.
 */
export async function scanDistinct(coll: Collection<VersionDoc>, full: Document, sent: Document, q: DistinctQuery): Promise<string[]> {
  const exact = new Query(full);
  const collect = distinctCollector(q);
  const seen = new Set<string>();
  for await (const d of coll.find(sent, { projection: { res: 0, txt: 0 } })) if (exact.test(d)) collect(d, seen);
  const after = q.after;
  return [...seen].filter((v) => after === undefined || v > after).sort().slice(0, q.limit);
}
