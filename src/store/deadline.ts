import { AsyncLocalStorage } from 'node:async_hooks';
import { FhirError } from '../fhir/errors.js';

/**
 * The time by which a request's work must end (REQUEST_TIMEOUT_MS). A timer cannot cut work
 * that never yields the event loop, as the embedded store's scans do: so the store looks at the
 * deadline where such work goes on (each call, and every so many documents of a scan) and gives
 * up with a 503. A read or search is cut anywhere. A write is cut only inside a store
 * transaction before it commits (its conditional criteria, say), where giving up writes
 * nothing: once committed, it is never cut short, so a 503 never hides a write that was made.
 */
interface Deadline {
  at: number;
  ms: number;
  write: boolean;
}
const deadlines = new AsyncLocalStorage<Deadline>();
const uncommitted = new AsyncLocalStorage<true>();

/** Runs `fn` (and everything it starts) under a deadline `ms` from now; `write`: see above. */
export function withDeadline<T>(ms: number, fn: () => T, write = false): T {
  return deadlines.run({ at: Date.now() + ms, ms, write }, fn);
}

/** Runs a store transaction's work, which a write's deadline may cut (nothing is committed yet). */
export function beforeCommit<T>(fn: () => T): T {
  // Marked only under a write's deadline: nothing else asks (a read's deadline cuts anywhere).
  return deadlines.getStore()?.write ? uncommitted.run(true, fn) : fn();
}

/** Throws the 503 when the current request's deadline has passed and its work may be cut here. */
export function checkDeadline(): void {
  const d = deadlines.getStore();
  if (d !== undefined && Date.now() > d.at && (!d.write || uncommitted.getStore() === true)) throw timedOut(d.ms, d.write);
}

export function timedOut(ms: number, write = false): FhirError {
  return FhirError.of(503, 'timeout', `The request took longer than ${ms} ms (REQUEST_TIMEOUT_MS)${write ? ' before it could commit: nothing was written' : ''}`);
}
