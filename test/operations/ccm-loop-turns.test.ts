import t from 'tap';
import { chunksOf, pageOver } from '../../src/operations/ccm-common.js';
import { HOLD_MS, LoopTurns } from '../../src/rest/loop-turns.js';

// Long operations let other requests run every HOLD_MS: the embedded store answers without
// yielding the event loop, so without these turns a month's billing would hold the server.

/** Holds the event loop for ms, as work on the embedded store does. */
const hold = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};
/** Whether a callback queued now for the next turn has run. */
const nextTurn = () => {
  const seen = { ran: false };
  setImmediate(() => (seen.ran = true));
  return seen;
};

t.test('LoopTurns yields only once the loop was held for HOLD_MS', async (t) => {
  const turns = new LoopTurns();
  const early = nextTurn();
  await turns.yieldIfDue();
  t.equal(early.ran, false, 'not held long enough: no turn given');
  hold(HOLD_MS + 5);
  await turns.yieldIfDue();
  t.equal(early.ran, true, 'held past HOLD_MS: other work ran');
  const after = nextTurn();
  await turns.yieldIfDue();
  t.equal(after.ran, false, 'and the count starts again');
});

t.test('chunksOf lets other work run between chunks of a long pass', async (t) => {
  async function* ids() {
    for (let i = 0; i < 6; i++) {
      hold(HOLD_MS / 2 + 2);
      yield `p${i}`;
    }
  }
  const other = nextTurn();
  const seenAt: boolean[] = [];
  const chunks: string[][] = [];
  for await (const c of chunksOf(ids(), 2)) {
    chunks.push(c);
    seenAt.push(other.ran);
  }
  t.same(chunks, [['p0', 'p1'], ['p2', 'p3'], ['p4', 'p5']], 'the chunks, in order');
  t.ok(seenAt.slice(0, -1).includes(true), `other work ran before the pass ended (${seenAt})`);
});

t.test('pageOver lets other work run between its batches of candidates', async (t) => {
  async function* candidates() {
    for (let i = 0; i < 40; i++) yield `p${String(i).padStart(2, '0')}`;
  }
  const other = nextTurn();
  let seenBeforeLast = false;
  let calls = 0;
  // Every other candidate is kept: several batches are needed to fill a page of 10.
  const page = await pageOver(candidates, 10, undefined, async (ids) => {
    if (calls++ > 0 && other.ran) seenBeforeLast = true;
    hold(HOLD_MS + 2);
    return ids.map((id) => (Number(id.slice(1)) % 2 === 0 ? id : undefined));
  });
  t.same(page.items, ['p00', 'p02', 'p04', 'p06', 'p08', 'p10', 'p12', 'p14', 'p16', 'p18']);
  t.ok(page.next, 'a next page');
  t.ok(calls > 1);
  t.ok(seenBeforeLast, 'other work ran between the batches');
});
