import t from 'tap';
import { readLogLine } from '../../src/store/embedded/log-line.js';

/** What a line meant before the scan: the whole line parsed, each resource written back as JSON text. */
function parsedWhole(line: string) {
  return (JSON.parse(line) as Array<Record<string, unknown>>).map(({ r, ...rest }) => (r === undefined ? rest : { ...rest, json: JSON.stringify(r) }));
}

const tricky = {
  resourceType: 'Observation',
  id: 'o1',
  meta: { versionId: '2', lastUpdated: '2025-03-04T10:00:00.000Z' },
  // the record's own marks inside strings: quotes, braces, a `,"r":`, backslashes, non-ASCII
  note: [{ text: 'a "quoted" {brace} [bracket] ,"r":{"x":1} back\\slash \\" end' }, { text: 'é – 漢字 😀 \u2028 line' }],
  valueQuantity: { value: 1.5e-7, unit: 'mg' },
  component: [{ code: { coding: [] } }, { valueBoolean: false, valueString: '' }],
};

const line = (records: unknown[]) => JSON.stringify(records);
const rec = (id: string, resource?: unknown, extra: Record<string, unknown> = {}) => {
  const head = { t: 'Observation', i: id, v: 1, l: 1700000000000, ...extra };
  return resource === undefined ? head : { ...head, x: { tok: [{ p: 'code', s: 'http://loinc.org', c: '1-8' }], ref: [{ p: 'subject', r: 'Patient/p' }] }, r: resource };
};

t.test('records are read as parsing the whole line reads them', async (t) => {
  const lines = [
    line([rec('a', tricky)]),
    line([rec('a', tricky), rec('b', { resourceType: 'Observation', id: 'b' }), rec('c')]),
    line([rec('d', undefined, { ix: { tok: [{ p: 'x', c: 'y' }] } })]),
    // the resource not last: read by the whole-line parse
    JSON.stringify([{ t: 'Observation', i: 'e', v: 1, l: 1, r: { resourceType: 'Observation' }, x: {} }]),
    // a key that only starts like "r"
    JSON.stringify([{ t: 'Observation', i: 'f', v: 1, l: 1, x: {}, rr: 1, r: tricky }]),
    '[]',
  ];
  for (const l of lines) t.same(readLogLine(Buffer.from(l, 'utf8')), parsedWhole(l), l.slice(0, 80));
  const json = readLogLine(Buffer.from(lines[1], 'utf8'))[0].json!;
  t.equal(json, JSON.stringify(tricky), 'the resource text is the text written');
});

t.test('a torn or malformed line throws, so the log can drop or refuse it', async (t) => {
  const whole = line([rec('a', tricky), rec('b', tricky)]);
  for (const cut of [1, 10, whole.indexOf('"r"') + 3, whole.length - 30, whole.length - 1]) {
    t.throws(() => readLogLine(Buffer.from(whole.slice(0, cut), 'utf8')), `cut at ${cut}`);
  }
  t.throws(() => readLogLine(Buffer.from('garbage', 'utf8')));
  t.throws(() => readLogLine(Buffer.from(whole + ']', 'utf8')));
});

t.test("the store's own writers give lines the scan reads, resource text kept as written", async (t) => {
  const { indexRecord, logLineOf, versionRecord } = await import('../../src/store/embedded/log-line.js');
  // Text that parsing and writing back would change (spaces, an escaped slash): only the scan keeps it.
  const json = '{"resourceType":"Observation", "id":"o2","note":[{"text":"a\\/b \\"q\\""}]}';
  const idx = { tok: [{ p: 'code', c: '1-8' }] };
  const records = readLogLine(
    Buffer.from(logLineOf([versionRecord({ type: 'Observation', id: 'o2', vid: 3, lu: 1700000000000, json }, idx), versionRecord({ type: 'Observation', id: 'o3', vid: 2, lu: 1700000000001, json: undefined }, {}), indexRecord('Observation', 'o2', 3, idx)])),
  );
  t.same(records, [
    { t: 'Observation', i: 'o2', v: 3, l: 1700000000000, x: idx, json },
    { t: 'Observation', i: 'o3', v: 2, l: 1700000000001 },
    { t: 'Observation', i: 'o2', v: 3, l: 0, ix: idx },
  ]);
  t.equal(records[0].json, json, 'the resource text exactly as written: read by the scan, not parsed whole');
});
