import type { AuditEvent } from 'fhir/r4.js';
import { MongoClient, type Collection } from 'mongodb';
import type { AuditSink } from './audit-log.js';

const FLUSH_MS = 50;

/**
 * The audit trail in MongoDB (when MONGODB_URI is set): collection `audit_events`, apart from the
 * clinical collections, shared by every server instance. Appends are batched into one insertMany
 * (w: majority, journaled) per batch.
 */
export class MongoAuditLog implements AuditSink {
  private readonly client: MongoClient;
  private col: Collection<AuditEvent & { _id: string }> | undefined;
  private pending: AuditEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    uri: string,
    private readonly dbName: string,
  ) {
    this.client = new MongoClient(uri, { writeConcern: { w: 'majority', journal: true }, appName: 'ccm-fhir-server-audit' });
  }

  async init(): Promise<void> {
    await this.client.connect();
    this.col = this.client.db(this.dbName).collection('audit_events');
    await this.col.createIndex({ recorded: 1 });
  }

  append(event: AuditEvent): void {
    if (this.closed) return;
    this.pending.push(event);
    this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), FLUSH_MS);
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const docs = this.pending;
    this.pending = [];
    this.writing = this.writing
      .catch(() => undefined)
      .then(async () => {
        if (docs.length === 0 || !this.col) return;
        await this.col.insertMany(
          docs.map((e) => ({ ...e, _id: e.id! })),
          { ordered: false },
        );
      });
    return this.writing;
  }

  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    this.closed = true;
    await this.client.close();
  }

  async scan(keep: (e: AuditEvent) => boolean): Promise<AuditEvent[]> {
    await this.flush();
    const out: AuditEvent[] = [];
    for await (const doc of this.col!.find({}, { projection: { _id: 0 } }).sort({ recorded: 1 })) {
      const e = doc as AuditEvent;
      if (keep(e)) out.push(e);
    }
    return out;
  }
}
