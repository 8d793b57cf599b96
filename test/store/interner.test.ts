import t from 'tap';
import { Interner } from '../../src/store/embedded/interner.js';
import type { IndexValues } from '../../src/store/port.js';

// A fresh copy of a string (not the literal V8 shares), as a parsed request body gives.
const fresh = (s: string) => JSON.parse(JSON.stringify(s)) as string;

t.test('index values share one copy of each repeated string', async (t) => {
  const i = new Interner();
  const a = i.index({ ref: [{ p: 'subject', r: fresh('Patient/1') }] } as unknown as IndexValues) as { ref: Array<{ r: string }> };
  const b = i.index({ ref: [{ p: 'subject', r: fresh('Patient/1') }] } as unknown as IndexValues) as { ref: Array<{ r: string }> };
  t.equal(a.ref[0].r, 'Patient/1');
  t.equal(i.size, 2, 'p and r, once each');
  const long = 'x'.repeat(300);
  t.equal(i.str(long), long, 'a long string is kept as it is');
  t.equal(i.size, 2, 'and not held');
  t.equal(b.ref[0].r, a.ref[0].r);
});

t.test('a full table starts over, so strings of new data are held again and the table stays bounded', async (t) => {
  const i = new Interner(100);
  for (let n = 0; n < 250; n++) i.str(fresh(`Patient/${n}`));
  t.ok(i.size <= 100, `bounded: ${i.size}`);
  t.equal(i.size, 50, '250 strings through a table of 100: it started over twice');
  const first = i.str(fresh('Patient/new'));
  t.equal(i.size, 51, 'a new string is held after the table filled');
  t.equal(i.str(fresh('Patient/new')), first);
});
