import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasDuplicateKeys } from '../../src/fhir/duplicate-keys.js';
import { fhir, startServer } from '../helpers/server.js';
import { testDataDir } from '../search/memory-store.js';

const dup = (text: string) => hasDuplicateKeys(text, JSON.parse(text));

t.test('repeated property names are found, whatever the strings around them hold', async (t) => {
  t.ok(dup('{"gender":"male","gender":"female"}'));
  t.ok(dup('{"a":{"b":1,"c":[{"d":1,"d":2}]}}'), 'deep in an array');
  t.ok(dup('{"x" : 1 ,\n "x"\t:\r\n2}'), 'with whitespace before the colon');
  t.ok(dup('{"__proto__":1,"__proto__":2}'));
  t.ok(dup('{"a\\"b":1,"a\\"b":2}'), 'a name holding an escaped quote');
  t.notOk(dup('{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}'), 'the same name in different objects');
  t.notOk(dup('{"a":"x\\":1,\\"a","b":"\\\\","c":"\\\\\\"d\\":"}'), 'values that look like names: escaped quotes and backslashes');
  t.notOk(dup('{"a":"b:c","d":"e\\"","f":":"}'), 'colons in values');
  t.notOk(dup('[{},[],"a",1,null,{"k":"v"}]'));
  t.notOk(dup('"just a string"'));
  const deep = '{"a":'.repeat(20000) + '1' + '}'.repeat(20000);
  t.notOk(dup(deep), 'nesting deeper than a call stack');
});

t.test('no false alarm on the Synthea bundles and the R4 examples', async (t) => {
  const dir = testDataDir();
  if (!dir) {
    t.comment('shared test data not found (set FHIR_TEST_DATA); skipping the corpus check');
    return;
  }
  let files = 0;
  for (const sub of ['synthea/bundles', 'r4-examples']) {
    let names: string[];
    try {
      names = readdirSync(join(dir, sub)).filter((f) => f.endsWith('.json'));
    } catch {
      continue;
    }
    for (const f of names) {
      const text = readFileSync(join(dir, sub, f), 'utf8');
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        continue;
      }
      files++;
      if (hasDuplicateKeys(text, parsed)) t.fail(`${sub}/${f} has no repeated name`);
    }
  }
  t.ok(files > 100, `${files} files read`);
});

t.test('a body with a repeated name is a 400 and writes nothing', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;
  const r = await fhir('POST', `${B}/Patient`, '{"resourceType":"Patient","gender":"male","gender":"female"}');
  t.equal(r.status, 400);
  t.equal(r.body.issue[0].code, 'structure');
  t.match(r.body.issue[0].diagnostics, /repeats a property name/);
  t.equal((await fhir('GET', `${B}/_history`)).body.total, 0, 'nothing written');
  t.equal((await fhir('POST', `${B}/Patient`, '{"resourceType":"Patient","name":[{"family":"a"},{"family":"b"}]}')).status, 201, 'the same name in two objects is fine');
});
