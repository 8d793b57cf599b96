import t from 'tap';
import { ucumConverter } from '../../src/search/ucum.js';
import { quantityCondition } from '../../src/search/compile-number.js';
import { entriesOf } from '../../src/search/node-values.js';

const UCUM = 'http://unitsofmeasure.org';
const ctx = { base: 'http://localhost/fhir' };
const canonicalUnit = (code: string) => ucumConverter(code)?.unit;
const toCanonical = (code: string, value: number) => ucumConverter(code)?.convert(value);

t.test('canonical forms come from UCUM definitions', async (t) => {
  t.equal(canonicalUnit('mg'), 'g');
  t.equal(canonicalUnit('kg'), canonicalUnit('[lb_av]'));
  t.equal(canonicalUnit('mg/dL'), canonicalUnit('g/L'));
  t.not(canonicalUnit('mg/dL'), canonicalUnit('g'), 'different dimensions stay apart');
  t.equal(toCanonical('mg', 5000), 5, 'binary noise of the factor is rounded away');
  t.equal(toCanonical('kg', 70), 70000);
  t.equal(toCanonical('Cel', 37), 310.15, 'special unit through its function');
  t.equal(toCanonical('[degF]', 98.6), 310.15);
  t.equal(canonicalUnit('[IU]'), undefined, 'arbitrary units have no canonical form');
  t.equal(canonicalUnit('not a unit'), undefined);
  t.equal(canonicalUnit('[pH]'), undefined, 'a decreasing special unit keeps exact matching');
  t.equal(canonicalUnit('x'.repeat(200)), undefined, 'overlong codes are not looked up');
});

t.test('index entries of a UCUM quantity carry the canonical value beside the original', async (t) => {
  t.same(entriesOf('quantity', 'Quantity', { value: 5000, system: UCUM, code: 'mg', unit: 'mg' }, ctx), [
    { lo: 5000, hi: 5000, s: UCUM, c: 'mg', u: 'mg', cu: 'g', clo: 5, chi: 5 },
  ]);
  t.same(entriesOf('quantity', 'Range', { low: { value: 1, system: UCUM, code: 'kg' }, high: { value: 2, system: UCUM, code: 'kg' } }, ctx), [
    { lo: 1, hi: 2, s: UCUM, c: 'kg', cu: 'g', clo: 1000, chi: 2000 },
  ]);
  t.same(entriesOf('quantity', 'Quantity', { value: 5, system: 'http://example.org', code: 'mg' }, ctx), [
    { lo: 5, hi: 5, s: 'http://example.org', c: 'mg' },
  ], 'other systems: as written only');
  t.same(entriesOf('quantity', 'Quantity', { value: 5, system: UCUM, code: '[IU]' }, ctx), [{ lo: 5, hi: 5, s: UCUM, c: '[IU]' }]);
});

t.test('query values with a UCUM unit compare canonical values', async (t) => {
  t.same(quantityCondition('value-quantity', `ge5|${UCUM}|g`), { cu: 'g', chi: { $gte: 5 } });
  t.same(quantityCondition('value-quantity', `5000|${UCUM}|mg`), { cu: 'g', clo: { $gte: 4.9995 }, chi: { $lt: 5.0005 } }, 'precision of the value as given');
  t.same(quantityCondition('value-quantity', `ge5|${UCUM}|[IU]`), { hi: { $gte: 5 }, s: UCUM, c: '[IU]' }, 'not convertible: exact code');
  t.same(quantityCondition('value-quantity', 'ge5|http://example.org|g'), { hi: { $gte: 5 }, s: 'http://example.org', c: 'g' });
  t.same(quantityCondition('value-quantity', 'ge5'), { hi: { $gte: 5 } });
});
