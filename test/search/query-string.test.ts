import t from 'tap';
import { formEncode } from '../../src/search/query-string.js';

const reference = (pairs: Array<[string, string]>) => new URLSearchParams(pairs).toString();

t.test('pairs are written exactly as URLSearchParams writes them', async (t) => {
  const samples: Array<Array<[string, string]>> = [
    [],
    [['patient', 'Patient/123'], ['clinical-status', 'active']],
    [['code', 'http://snomed.info/sct|44054006'], ['_count', '100']],
    [['name', 'Müller Ünïcode 漢字 😀'], ['x', "a b+c&d=e!'()~*-._%"]],
    [['subject:Patient', 'a\\,b'], ['date', 'ge2020-01-01T10:00:00+02:00']],
    [['', ''], ['=', '&'], ['lone', '\ud800x']],
  ];
  for (const [i, pairs] of samples.entries()) t.equal(formEncode(pairs), reference(pairs), `sample ${i}`);
  // Every character from U+0000 to U+00FF, and a few beyond, one at a time.
  for (let c = 0; c < 0x100; c++) {
    const s = String.fromCharCode(c);
    t.equal(formEncode([[s, s]]), reference([[s, s]]), `U+${c.toString(16).padStart(4, '0')}`);
  }
  const hex = (s: string) => [...s].map((c) => c.charCodeAt(0).toString(16)).join(' ');
  for (const s of ['\u0100', '\u2028', '\ufffd', '\udbff\udfff', '\udc00']) t.equal(formEncode([['k', s]]), reference([['k', s]]), hex(s));
});
