import { Worker } from 'node:worker_threads';
import type { OperationOutcomeIssue } from 'fhir/r4.js';
import type { ValidateCallOptions, ValidatorOptions } from './validator.js';
import { keptText } from '../fhir/json-decimals.js';

type Reply = { id: number; results?: OperationOutcomeIssue[][]; error?: string };

/**
 * Validator workers, so that a large transaction is validated on two cores: the caller
 * validates part of the entries itself while the workers take the rest. Each worker builds its
 * own validator from the same options (definitions are per thread).
 */
export class ValidationPool {
  private next = 0;
  private seq = 0;
  private failed?: Error;
  private readonly pending = new Map<number, { resolve: (r: OperationOutcomeIssue[][]) => void; reject: (e: Error) => void }>();

  private constructor(private readonly workers: Worker[]) {
    for (const w of workers) {
      w.on('message', (m: Reply) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.error !== undefined) p.reject(new Error(`validation worker: ${m.error}`));
        else p.resolve(m.results!);
      });
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => this.fail(new Error(`validation worker exited (code ${code})`)));
    }
  }

  /**
   * Starts `size` workers; undefined when size is 0 or the worker module cannot run here
   * (the sources are executed as TypeScript, e.g. under the test runner: only compiled code has it).
   */
  static async start(size: number, opts: ValidatorOptions): Promise<ValidationPool | undefined> {
    if (size <= 0 || import.meta.url.endsWith('.ts')) return undefined;
    const workers = await Promise.all(
      Array.from({ length: size }, () => {
        const w = new Worker(new URL('./pool-worker.js', import.meta.url), { workerData: opts });
        return new Promise<Worker>((resolve, reject) => {
          w.once('message', () => resolve(w));
          w.once('error', reject);
        });
      }),
    );
    const pool = new ValidationPool(workers);
    for (const w of workers) w.unref();
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  /** A worker failed or exited: what is waiting is refused, and so is every later call (a message to a dead worker is never answered). */
  private fail(e: Error): void {
    this.failed ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Issues per resource, in order, from one worker. */
  validateMany(resources: unknown[], opts?: ValidateCallOptions): Promise<OperationOutcomeIssue[][]> {
    if (this.failed) return Promise.reject(this.failed);
    const id = ++this.seq;
    const w = this.workers[this.next++ % this.workers.length];
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // A resource with numbers kept as written goes as its text: a structured copy would drop
      // their texts, and the worker would judge 1.0 in an integer element by its value.
      w.postMessage({ id, opts, resources: resources.map((r) => {
        const text = keptText(r);
        return text === undefined ? { value: r } : { text };
      }) });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
