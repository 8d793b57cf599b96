import { AsyncLocalStorage } from 'node:async_hooks';
import { FhirError } from '../fhir/errors.js';

/**
 * The time by which a request's reading must end (REQUEST_TIMEOUT_MS). A timer cannot cut work
 * that never yields the event loop, as the embedded store's scans do: so the store looks at the
 * deadline where such work goes on (each call, and every so many documents of a scan) and gives
 * up with a 503. Only reads and searches get one: a write is never cut short.
 */
const deadlines = new AsyncLocalStorage<{ at: number; ms: number }>();

/** Runs `fn` (and everything it starts) under a deadline `ms` from now. */
export function withDeadline<T>(ms: number, fn: () => T): T {
  return deadlines.run({ at: Date.now() + ms, ms }, fn);
}

/** Throws the 503 when the current request's deadline has passed (nothing when it has none). */
export function checkDeadline(): void {
  const d = deadlines.getStore();
  if (d !== undefined && Date.now() > d.at) throw timedOut(d.ms);
}

export function timedOut(ms: number): FhirError {
  return FhirError.of(503, 'timeout', `The request took longer than ${ms} ms (REQUEST_TIMEOUT_MS)`);
}
