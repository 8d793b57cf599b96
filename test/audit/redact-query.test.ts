import t from 'tap';
import { redactQuery } from '../../src/audit/events.js';

/** The record's query as encodeURIComponent writes it, values redacted except result parameters'. */
const reference = (q: URLSearchParams) =>
  [...q].map(([k, v]) => `${encodeURIComponent(k)}=${['_count', '_sort', '_include', '_revinclude', '_summary', '_elements', '_total', '_type', '_format'].includes(k.split(':')[0]) ? encodeURIComponent(v) : '*'}`).join('&');

t.test('redactQuery writes keys and kept values as encodeURIComponent does, and redacts the rest', async (t) => {
  const samples: Array<Array<[string, string]>> = [
    [['patient', 'Patient/123'], ['clinical-status', 'active'], ['_count', '5']],
    [['subject:Patient', 'x'], ['_include', 'Condition:subject'], ['_revinclude:iterate', 'Provenance:target'], ['_sort', '-date,code']],
    [['name', 'Müller 漢字 😀'], ['_elements', "id,a b+c&d=e!'()~*-._%"], ['_type', 'Patient|Observation']],
  ];
  for (const [i, pairs] of samples.entries()) {
    const q = new URLSearchParams(pairs);
    t.equal(redactQuery(q), reference(q), `sample ${i}`);
  }
  for (let c = 0x20; c < 0x100; c++) {
    const s = String.fromCharCode(c);
    const q = new URLSearchParams([[`k${s}`, s], [`_count${s}`, s], ['_sort', `a${s}`]]);
    t.equal(redactQuery(q), reference(q), `U+${c.toString(16).padStart(4, '0')}`);
  }
  t.equal(redactQuery(new URLSearchParams([['patient', 'Patient/1'], ['_count', '5']])), 'patient=*&_count=5');
});
