import t from 'tap';
import { carryTexts, keptText, markTexts, newMark, numberText, parseJson, stringifyJson, unmarkTexts } from '../../src/fhir/json-decimals.js';

const OBSERVATION =
  '{"resourceType":"Observation","status":"final","code":{"text":"x"},"component":[' +
  ['1.0', '1.50', '1E-22', '12345678901234567890', '-1.000000000000000000E+245', '0.10', '100.00', '7', '2.5', '-0']
    .map((v) => `{"code":{"text":"c"},"valueQuantity":{"value":${v},"unit":"g"}}`)
    .join(',') +
  ']}';

t.test('numbers are written back as they were read', async (t) => {
  const v = parseJson(OBSERVATION);
  t.equal(stringifyJson(v), OBSERVATION, 'compact');
  const mark = newMark();
  t.equal(stringifyJson(unmarkTexts(markTexts(v, mark), mark)), OBSERVATION, 'marked and unmarked (as JSON Patch runs), they are kept');
  t.equal(keptText(v), OBSERVATION, 'keptText gives the text');
  t.equal(keptText(JSON.parse(OBSERVATION)), undefined, 'and nothing where no number needs its text');
  const pretty = stringifyJson(v, 2);
  for (const lexeme of ['1.0', '1.50', '1E-22', '12345678901234567890', '-1.000000000000000000E+245', '0.10', '100.00', '-0']) {
    t.ok(pretty.includes(`"value": ${lexeme},\n`), `pretty keeps ${lexeme}`);
  }
  t.equal(JSON.stringify(v), JSON.stringify(JSON.parse(OBSERVATION)), 'the values are the plain numbers');
});

t.test('every number a JS number would write otherwise is kept, and in any company', async (t) => {
  for (const n of ['0.0000001', '9007199254740993', '-9999999999999999', '1.2345678901234567', '1e21', '100000000000000000000000']) {
    t.equal(stringifyJson(parseJson(`[${n}]`)), `[${n}]`, `${n} alone`);
    t.equal(stringifyJson(parseJson(`[1.5,${n},2]`)), `[1.5,${n},2]`, `${n} among plain numbers`);
  }
  // A number JS writes as it was needs nothing kept.
  for (const n of ['0.000001', '123456789012345', '0.1', '-2.5', '900719925474099']) t.equal(String(Number(n)), n);
});

t.test('a value whose text JSON.stringify meets only through toJSON (a stored entry) keeps it', async (t) => {
  const entry = { toJSON: () => ({ resource: parseJson('{"a":1.50}') }) };
  t.equal(stringifyJson({ entry: [entry] }), '{"entry":[{"resource":{"a":1.50}}]}');
});

t.test('a number changed after parsing is written as its new value', async (t) => {
  const v = parseJson('{"a":{"b":1.50,"c":[1.0,2.00]}}') as { a: { b: number; c: number[] } };
  t.equal(stringifyJson(v), '{"a":{"b":1.50,"c":[1.0,2.00]}}');
  v.a.b = 2;
  v.a.c[1] = 3;
  t.equal(stringifyJson(v), '{"a":{"b":2,"c":[1.0,3]}}');
  t.equal(numberText(v.a.c, '0', 1), '1.0');
  t.equal(numberText(v.a, 'b', 2), '2');
});

t.test('containers made after parsing: their parts keep their texts, copied members by carryTexts', async (t) => {
  const v = parseJson('{"factor":0.50,"inner":{"x":1.10}}') as Record<string, unknown>;
  const wrapped = { resourceType: 'Bundle', entry: [{ resource: v }] };
  t.equal(stringifyJson(wrapped), '{"resourceType":"Bundle","entry":[{"resource":{"factor":0.50,"inner":{"x":1.10}}}]}');
  const copy = { ...v, extra: true };
  t.equal(stringifyJson(copy), '{"factor":0.5,"inner":{"x":1.10},"extra":true}', 'a spread copy alone loses the root number');
  carryTexts(v, copy);
  t.equal(stringifyJson(copy), '{"factor":0.50,"inner":{"x":1.10},"extra":true}');
});

t.test('strings that look like numbers, keys with escapes, whitespace and nesting', async (t) => {
  const text = '{ "k\\"1" : [ 1.0 , "x:1.0," , { "\\u0041" : 2.50 } ] ,"s":":1E5]", "n" : 3E2 }';
  const v = parseJson(text) as Record<string, unknown>;
  t.same(v, JSON.parse(text));
  t.equal(stringifyJson(v), '{"k\\"1":[1.0,"x:1.0,",{"A":2.50}],"s":":1E5]","n":3E2}');
  const deep = '['.repeat(1000) + '1.0' + ']'.repeat(1000);
  t.equal(stringifyJson(parseJson(deep)), deep, 'deep nesting');
});

t.test('random documents round-trip exactly', async (t) => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const numbers = ['1.0', '1.50', '0', '-0', '1E-22', '1e2', '12345678901234567890', '0.1', '178.08705005887956', '123456789.123456789', '7', '2.5e-3', '100.00', '-3.10', '0.0000001', '0.000001', '-0.00000012', '9007199254740993', '-9999999999999999', '123456789012345', '0.123456789012345'];
  const strings = ['"a"', '"x\\"y"', '"\\\\"', '":1.0,"', '"1.0]"'];
  const gen = (d: number): string => {
    const r = rnd();
    if (d > 4 || r < 0.4) return rnd() < 0.6 ? pick(numbers) : rnd() < 0.5 ? pick(strings) : pick(['true', 'false', 'null']);
    if (r < 0.7) return `[${Array.from({ length: Math.floor(rnd() * 4) }, () => gen(d + 1)).join(',')}]`;
    return `{${Array.from({ length: Math.floor(rnd() * 4) }, (_, i) => `"k${i}":${gen(d + 1)}`).join(',')}}`;
  };
  const space = () => pick([' ', '\n ', '', '\t']);
  let bad = 0;
  for (let i = 0; i < 5000; i++) {
    const doc = `[${gen(0)}]`;
    // Whitespace between tokens (never inside a string).
    let spaced = '';
    let inString = false;
    for (let j = 0; j < doc.length; j++) {
      const c = doc[j];
      spaced += c;
      if (c === '"') {
        let back = 0;
        while (doc[j - 1 - back] === '\\') back++;
        if (back % 2 === 0) inString = !inString;
      }
      if (!inString && ',:[{'.includes(c)) spaced += space();
    }
    if (stringifyJson(parseJson(spaced)) !== doc && bad++ < 3) t.fail(`did not round-trip: ${doc}`);
  }
  t.equal(bad, 0, '5,000 documents');
});
