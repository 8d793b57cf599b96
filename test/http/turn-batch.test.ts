import t from 'tap';
import { TurnBatch } from '../../src/http/turn-batch.js';

// The responses of one event-loop turn go out together, after the turn, in the order given.

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

t.test('callbacks given in one turn run after it, together and in order', async (t) => {
  const errors: unknown[] = [];
  const batch = new TurnBatch((e) => errors.push(e));
  const ran: string[] = [];
  batch.add(() => ran.push('a'));
  await Promise.resolve();
  batch.add(() => ran.push('b'));
  process.nextTick(() => batch.add(() => ran.push('c')));
  t.same(ran, [], 'nothing runs in the turn that gave it');
  await turn();
  t.same(ran, ['a', 'b', 'c'], 'all of the turn, in order, microtasks and nextTicks included');
  batch.add(() => ran.push('d'));
  await turn();
  t.same(ran, ['a', 'b', 'c', 'd'], 'a later turn is a batch of its own');
  t.same(errors, []);
});

t.test('a callback given while a batch runs goes with the next one', async (t) => {
  const batch = new TurnBatch(() => undefined);
  const ran: string[] = [];
  batch.add(() => {
    ran.push('first');
    batch.add(() => ran.push('later'));
  });
  await turn();
  t.same(ran, ['first']);
  await turn();
  t.same(ran, ['first', 'later']);
});

t.test("one callback's failure is reported and does not hold back the others", async (t) => {
  const errors: unknown[] = [];
  const batch = new TurnBatch((e) => errors.push(e));
  const ran: string[] = [];
  batch.add(() => ran.push('a'));
  batch.add(() => {
    throw new Error('boom');
  });
  batch.add(() => ran.push('c'));
  await turn();
  t.same(ran, ['a', 'c']);
  t.equal(errors.length, 1);
  t.equal((errors[0] as Error).message, 'boom');
  batch.add(() => ran.push('d'));
  await turn();
  t.same(ran, ['a', 'c', 'd'], 'the next batch is scheduled as before');
});

t.test('a full batch goes out at once, the rest of the turn after it', async (t) => {
  const batch = new TurnBatch(() => undefined);
  const ran: number[] = [];
  for (let i = 0; i < TurnBatch.MAX + 8; i++) batch.add(() => ran.push(i));
  t.same(ran, Array.from({ length: TurnBatch.MAX }, (_, i) => i), 'the first MAX, when the last of them was given');
  await turn();
  t.same(ran, Array.from({ length: TurnBatch.MAX + 8 }, (_, i) => i), 'the others at the end of the turn, in order');
  batch.add(() => ran.push(-1));
  await turn();
  t.equal(ran.at(-1), -1, 'and the next turn is a batch of its own');
});
