/** How long one request's work may hold the event loop before it lets other requests run. */
export const HOLD_MS = 20;

/**
 * Lets other requests run when the work it is asked about has held the event loop for HOLD_MS.
 * The embedded store answers without yielding the event loop, so a long operation (a large
 * bundle, a month's billing) would otherwise hold every other request, and the responses
 * waiting to go out with its turn (src/http/turn-batch.ts), until it ends.
 */
export class LoopTurns {
  private last = performance.now();

  async yieldIfDue(): Promise<void> {
    if (performance.now() - this.last < HOLD_MS) return;
    await new Promise((resolve) => setImmediate(resolve));
    this.last = performance.now();
  }
}
