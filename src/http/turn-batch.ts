/**
 * Runs the callbacks given during one turn of the event loop together, at its check phase
 * (setImmediate), in the order given. The server sends its responses through it: the requests
 * read in one poll phase are answered back to back instead of one handler's time apart, so a
 * client or proxy on the same machine that sleeps between responses is woken once per batch
 * rather than once per response. Each wake-up of a sleeping peer costs the writer a cross-CPU
 * interrupt inside its write (several µs on a virtual machine). A request that arrives alone
 * waits for no other: its turn ends right after it. A response waits at most for the handling
 * of the others of its turn; a full batch goes out at once, so that under heavy load (a poll
 * phase can read a thousand requests) none waits for more than MAX - 1 others.
 */
export class TurnBatch {
  static readonly MAX = 32;

  private pending: Array<() => void> = [];
  private scheduled = false;

  constructor(private readonly onError: (err: unknown) => void) {}

  add(fn: () => void): void {
    this.pending.push(fn);
    if (this.pending.length >= TurnBatch.MAX) return this.flush();
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.atTurnEnd);
  }

  private readonly atTurnEnd = (): void => {
    this.scheduled = false;
    this.flush();
  };

  private flush(): void {
    const fns = this.pending;
    this.pending = [];
    // One callback's failure does not hold back the others'.
    for (const fn of fns) {
      try {
        fn();
      } catch (err) {
        this.onError(err);
      }
    }
  }
}
