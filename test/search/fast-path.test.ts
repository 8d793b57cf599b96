import t from 'tap';
import { loadDefinitions } from '../../src/fhir/definitions.js';
import { IndexExtractor } from '../../src/search/extract.js';
import { compileFast } from '../../src/search/fast-path.js';
import { ParamRegistry } from '../../src/search/params.js';
import { loadR4Examples, loadSyntheaBundles, testDataDir } from './memory-store.js';

t.test('the fast path takes plain paths and leaves the rest to fhirpath.js', async (t) => {
  t.ok(compileFast('Observation.code'));
  t.ok(compileFast('Patient.name.given | Patient.name.family'));
  t.ok(compileFast('(Observation.value as Quantity)'));
  t.ok(compileFast('Condition.onset.as(dateTime)'));
  t.equal(compileFast("Observation.subject.where(resolve() is Patient)"), undefined);
  t.equal(compileFast('Patient.deceased.exists() and Patient.deceased != false'), undefined);
  t.equal(compileFast("Bundle.entry[0].resource"), undefined);
  t.equal(compileFast('Observation.nosuchelement'), undefined);
  const fn = compileFast('Observation.value as Quantity')!;
  t.same(fn({ resourceType: 'Observation', valueQuantity: { value: 3 } }), [{ data: { value: 3 }, fhirNodeDataType: 'Quantity' }]);
  t.same(fn({ resourceType: 'Observation', valueString: 'x' }), []);
  t.same(compileFast('Observation.component.value')!({ resourceType: 'Observation', component: [{ valueString: 's' }, { valueDateTime: '2020' }] }), [
    { data: 's', fhirNodeDataType: 'string' },
    { data: '2020', fhirNodeDataType: 'dateTime' },
  ]);
});

const dir = testDataDir();
t.test('index values from the fast path equal fhirpath.js on every Synthea resource and R4 example', { skip: !dir && 'shared data absent' }, async (t) => {
  const defs = loadDefinitions();
  const registry = new ParamRegistry(defs.resourceTypes, defs.searchParameters, []);
  const fast = new IndexExtractor(registry, 'http://example.org/fhir', true);
  const slow = new IndexExtractor(registry, 'http://example.org/fhir', false);
  const resources = [...loadSyntheaBundles(dir!), ...loadR4Examples(dir!)];
  // One intended difference: `X.component.value as Quantity` over several components is an error
  // in fhirpath.js (as takes one item), so it indexes nothing; the fast path types each item, as
  // search intends (component-value-quantity must find any component). Those parameters are
  // compared only where fhirpath.js produced values.
  const multiAs = (type: string, code: string) =>
    registry.forType(type).some((d) => d.code === code && /\bas\b|\.as\(/.test(d.expression ?? '') && /component|\|/.test(d.expression ?? ''));
  const comparable = (r: any, idx: any, other: any) => {
    const out: any = {};
    for (const [field, val] of Object.entries(idx)) {
      if (field === 'srt') {
        out.srt = Object.fromEntries(Object.entries(val as object).filter(([code]) => !(multiAs(r.resourceType, code) && !other.srt?.[code])));
      } else {
        const present = new Set(((other[field] ?? []) as any[]).map((e) => e.p));
        const kept = (val as any[]).filter((e) => !(multiAs(r.resourceType, e.p) && !present.has(e.p)));
        if (kept.length) out[field] = kept;
      }
    }
    return out;
  };
  let differ = 0;
  for (const r of resources) {
    const fa = fast.extract(r);
    const sb = slow.extract(r);
    const a = JSON.stringify(sortKeys(comparable(r, fa, sb)));
    const b = JSON.stringify(sortKeys(comparable(r, sb, fa)));
    if (a !== b && differ++ < 5) {
      let i = 0;
      while (a[i] === b[i]) i++;
      t.fail(`${r.resourceType}/${r.id}: fast …${a.slice(Math.max(0, i - 150), i + 150)} vs fhirpath …${b.slice(Math.max(0, i - 150), i + 150)}`);
    }
  }
  t.equal(differ, 0, `${resources.length} resources extracted identically`);
});

function sortKeys(n: any): any {
  if (Array.isArray(n)) return n.map(sortKeys);
  if (n && typeof n === 'object') return Object.fromEntries(Object.keys(n).sort().map((k) => [k, sortKeys(n[k])]));
  return n;
}

t.test('index entries of one parameter are kept once each (dedupe), and only equal ones merge', async (t) => {
  const defs = loadDefinitions();
  const extractor = new IndexExtractor(new ParamRegistry(defs.resourceTypes, defs.searchParameters, []), 'http://example.org/fhir');
  const coding = { system: 'http://snomed.info/sct', code: '44054006' };
  const idx = extractor.extract({
    resourceType: 'Condition',
    code: { coding: [coding, { ...coding }, { ...coding, code: '44054007' }, { code: '44054006' }], text: 'Diabetes' },
    subject: { reference: 'Patient/p1' },
    note: [{ text: 'a\u0001b' }, { text: 'a' }],
  } as never) as { tok: Array<{ p: string; s?: string; c?: string; t?: string }> };
  const codes = idx.tok.filter((e) => e.p === 'code' && e.c !== undefined).map((e) => `${e.s ?? ''}|${e.c}`);
  t.same(codes.sort(), ['http://snomed.info/sct|44054006', 'http://snomed.info/sct|44054007', '|44054006'].sort(), 'the repeated coding once; a coding without its system kept apart');
});
