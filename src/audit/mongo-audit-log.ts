import type { AuditEvent } from 'fhir/r4.js';
import { MongoClient, type Collection, type Filter } from 'mongodb';
import type { AuditPage, AuditSink } from './audit-log.js';
import type { AuditQuery } from './audit-query.js';
import { AuditBatch } from './batch.js';
import { toAuditEvent, type AuditEntry } from './record.js';

type Doc = AuditEvent & { _id: string };

/**
 * The audit trail in MongoDB (when MONGODB_URI is set): collection `audit_events`, apart from the
 * clinical collections, shared by every server instance. Appends are batched into one insertMany
 * (w: majority, journaled) per batch. Searches are MongoDB queries over indexes on recorded and on
 * agent, entity and subtype (each with recorded, for newest-first pages).
 */
export class MongoAuditLog implements AuditSink {
  private readonly client: MongoClient;
  private col: Collection<Doc> | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly batch = new AuditBatch((docs) => this.write(docs));

  constructor(
    uri: string,
    private readonly dbName: string,
  ) {
    this.client = new MongoClient(uri, { writeConcern: { w: 'majority', journal: true }, appName: 'ccm-fhir-server-audit' });
  }

  async init(): Promise<void> {
    await this.client.connect();
    this.col = this.client.db(this.dbName).collection<Doc>('audit_events');
    // One at a time, as the clinical store does: FerretDB 1.24 drops the connection (a panic on
    // its side) when one createIndexes names several indexes that already exist over data, which
    // made every restart after the first fail.
    const keys: Array<Record<string, 1 | -1>> = [
      { recorded: -1 },
      { 'agent.who.identifier.value': 1, recorded: -1 },
      { 'agent.who.reference': 1, recorded: -1 },
      { 'entity.what.reference': 1, recorded: -1 },
      { 'subtype.code': 1, recorded: -1 },
    ];
    for (const key of keys) {
      await this.col.createIndex(key);
    }
  }

  append(event: AuditEntry): void {
    this.batch.append(event);
  }

  flush(): Promise<void> {
    return this.batch.flush();
  }

  /** Inserts one batch after the ones before it (a failed batch does not stop the next). */
  private write(entries: AuditEntry[]): Promise<void> {
    this.writing = this.writing
      .catch(() => undefined)
      .then(async () => {
        if (entries.length === 0 || !this.col) return;
        await this.col.insertMany(
          entries.map((entry) => {
            // Stored whole: the indexes and queries are on AuditEvent's own fields.
            const e = toAuditEvent(entry);
            return { ...e, _id: e.id! };
          }),
          { ordered: false },
        );
      });
    return this.writing;
  }

  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    this.batch.close();
    await this.client.close();
  }

  async search(q: AuditQuery): Promise<AuditPage> {
    await this.flush();
    const filter = mongoFilter(q);
    const [total, docs] = await Promise.all([
      this.col!.countDocuments(filter),
      q.count > 0 ? this.col!.find(filter, { projection: { _id: 0 } }).sort({ recorded: -1 }).limit(q.count).toArray() : [],
    ]);
    return { total, events: docs as AuditEvent[] };
  }

  async read(id: string): Promise<AuditEvent | undefined> {
    await this.flush();
    return ((await this.col!.findOne({ _id: id }, { projection: { _id: 0 } })) as AuditEvent | null) ?? undefined;
  }
}

/** The query as a MongoDB filter: the same semantics as matchesKeys (src/audit/audit-query.ts) over the stored events. */
export function mongoFilter(q: AuditQuery): Filter<Doc> {
  const and: Array<Record<string, unknown>> = [];
  // recorded is always an ISO instant in UTC (toISOString), so string order is time order.
  const recorded: Record<string, string> = {};
  if (q.from !== undefined) recorded.$gte = new Date(q.from).toISOString();
  if (q.to !== undefined) recorded.$lt = new Date(q.to).toISOString();
  if (Object.keys(recorded).length) and.push({ recorded });
  for (const c of q.id) and.push({ _id: { $in: c } });
  for (const c of q.agent) and.push({ $or: [{ 'agent.who.reference': { $in: c } }, { 'agent.who.identifier.value': { $in: c } }] });
  for (const c of q.patient) and.push({ $or: [{ 'entity.what.reference': { $in: c } }, { 'agent.who.reference': { $in: c } }] });
  for (const c of q.entity) and.push({ 'entity.what.reference': { $in: c } });
  for (const c of q.subtype) {
    const plain = c.filter((v) => !v.includes('|'));
    const coded = c.filter((v) => v.includes('|')).map((v) => ({ subtype: { $elemMatch: { system: v.slice(0, v.lastIndexOf('|')), code: v.slice(v.lastIndexOf('|') + 1) } } }));
    and.push({ $or: [...(plain.length ? [{ 'subtype.code': { $in: plain } }] : []), ...coded] });
  }
  for (const c of q.outcome) and.push({ outcome: { $in: c } });
  for (const c of q.action) and.push({ action: { $in: c } });
  return (and.length ? { $and: and } : {}) as Filter<Doc>;
}
