import t from 'tap';
import { fhirRegex } from '../../src/validation/fhir-regex.js';

// The primitive types' regexes read as XML Schema / Java read them: \s is ASCII whitespace only.
const STRING = '[ \\r\\n\\t\\S]+';
const CODE = '[^\\s]+(\\s[^\\s]+)*';
const URI = '\\S*';
const BASE64 = '(\\s*([0-9a-zA-Z\\+/=]){4}\\s*)+';

t.test('\\s and \\S are ASCII whitespace and its complement, in and out of classes', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    [STRING, 'a\u00a0b', true],
    [STRING, '\u2028', true],
    [STRING, '\u3000x', true],
    [STRING, '\ufeff', true],
    [STRING, 'a b\r\n', true],
    [STRING, '😀', true],
    [STRING, '', false],
    [CODE, 'a b', true],
    [CODE, 'a  b', false],
    [CODE, ' a', false],
    [CODE, 'a\u00a0b', true],
    [CODE, 'a\tb', true],
    [URI, 'http://x/a b', false],
    [URI, 'http://x/a\u00a0b', true],
    [URI, 'urn:x😀', true],
    [BASE64, 'QUJD\nRA==', true],
    [BASE64, 'QUJD\u00a0RA==', false],
    ['[A-Za-z0-9\\-\\.]{1,64}', 'a-b.c', true],
    ['[A-Za-z0-9\\-\\.]{1,64}', 'a b', false],
  ];
  // Names in ASCII: a raw U+2028 would break the TAP stream.
  const ascii = (v: string) => v.replace(/[^\x20-\x7e]/gu, (c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase()}`);
  for (const [source, value, ok] of cases) t.equal(fhirRegex(source).test(value), ok, `${source} on '${ascii(value)}'`);
});
