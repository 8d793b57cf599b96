// Rules as data: the code table, payment amounts by year, and categories loaded from profiles/
// (or from another folder).
import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateEligibility } from '../../src/ccm/eligibility.js';
import { evaluateBilling } from '../../src/ccm/billing.js';
import { categoryOf, defaultProfilesDir } from '../../src/ccm/categories.js';
import { defaultCodeTable, type CodeTable } from '../../src/ccm/code-table.js';
import { defaultPaymentTable, paymentEstimate } from '../../src/ccm/payments.js';
import { loadCcmRules } from '../../src/ccm/rules.js';
import { facts, hypertension, lineList, staff } from './fixtures.js';

t.test('code table matches §6', async (t) => {
  const row = (c: string) => defaultCodeTable.codes.find((x) => x.code === c)!;
  t.same([row('99490').minMinutesFirst, row('99439').incrementMinutes, row('99439').maxUnitsPerMonth], [20, 20, 2]);
  t.same([row('99491').minMinutesFirst, row('99437').incrementMinutes, row('99437').maxUnitsPerMonth, row('99437').capIsEngineDefault], [30, 30, 2, true]);
  t.same([row('99487').minMinutesFirst, row('99489').incrementMinutes, row('99489').maxUnitsPerMonth], [60, 30, null]);
  t.same([row('99426').minMinutesFirst, row('99427').maxUnitsPerMonth, row('99427').capIsEngineDefault, row('99425').capIsEngineDefault], [30, 2, true, true]);
  t.same(defaultCodeTable.coveredYears, [2025, 2026]);
});

t.test('a new year or a changed cap is a data change', async (t) => {
  const table: CodeTable = structuredClone(defaultCodeTable);
  table.coveredYears.push(2027);
  table.codes.find((c) => c.code === '99439')!.maxUnitsPerMonth = 3;
  const rules = { ...loadCcmRules(), codes: table };
  const r = evaluateBilling(facts({ month: '2027-05', consent: { date: '2027-01-02' }, initiatingVisit: { date: '2027-01-02' }, carePlan: { status: 'active', created: '2027-01-02', substantiallyRevisedInMonth: false }, timeEntries: [staff(85, '2027-05-03')] }), { rules });
  t.same(lineList(r), ['99490x1', '99439x3']);
});

t.test('payment amounts by year (§11)', async (t) => {
  t.same(paymentEstimate(defaultPaymentTable, '99490', 1, '2025-03'), { code: '99490', units: 1, year: 2025, conversionFactor: 'standard', amountPerUnit: 60.49, total: 60.49, unconfirmed: false });
  t.equal(paymentEstimate(defaultPaymentTable, '99439', 2, '2026-01').total, 100.88);
  t.equal(paymentEstimate(defaultPaymentTable, '99439', 2, '2026-01', 'qp').total, 101.38);
  t.same([paymentEstimate(defaultPaymentTable, '99426', 1, '2025-01').amountPerUnit, paymentEstimate(defaultPaymentTable, '99426', 1, '2025-01').unconfirmed], [null, true], 'not found in CY2025 (⚠)');
  t.equal(paymentEstimate(defaultPaymentTable, '99426', 1, '2026-01').amountPerUnit, 67.8);
  t.throws(() => paymentEstimate(defaultPaymentTable, '99490', 1, '2024-12'));
  t.throws(() => paymentEstimate(defaultPaymentTable, '99490', 1, '2025-12', 'qp'));
  // every amount is RVU x CF within rounding
  for (const [year, y] of Object.entries(defaultPaymentTable.years)) {
    for (const [code, c] of Object.entries(y.codes)) {
      for (const [cf, amount] of Object.entries(c.amounts)) {
        if (amount === null || c.nonFacilityRvu === null || c.unconfirmed) continue;
        t.ok(Math.abs(c.nonFacilityRvu * y.conversionFactors[cf] - amount) < 0.02, `${year} ${code} ${cf}`);
      }
    }
  }
});

t.test('categories come from profiles/ and a configured folder overrides them', async (t) => {
  const rules = loadCcmRules();
  t.equal(categoryOf(rules.categories, 'http://hl7.org/fhir/sid/icd-10-cm', 'E11.65'), 'diabetes');
  t.equal(categoryOf(rules.categories, 'http://snomed.info/sct', '59621000'), 'hypertension');
  t.equal(categoryOf(rules.categories, 'http://hl7.org/fhir/sid/icd-10-cm', 'C44.9'), 'skin_nonmelanoma');
  t.notOk(rules.categories.counting.has('skin_nonmelanoma'));
  t.equal(rules.categories.counting.size, 41);

  const dir = mkdtempSync(join(tmpdir(), 'ccm-cat-'));
  for (const f of ['ConceptMap-chronic-condition-category.json', 'CodeSystem-chronic-condition-category.json']) {
    writeFileSync(join(dir, f), readFileSync(join(defaultProfilesDir(), f)));
  }
  const vs = JSON.parse(readFileSync(join(defaultProfilesDir(), 'ValueSet-chronic-condition-categories-counting.json'), 'utf8'));
  vs.compose.include[0].concept = vs.compose.include[0].concept.filter((c: { code: string }) => c.code !== 'hypertension');
  writeFileSync(join(dir, 'my-counting-valueset.json'), JSON.stringify(vs));
  const custom = loadCcmRules({ profilesDir: dir });
  const r = evaluateEligibility(facts(), { rules: custom });
  t.same([r.program, r.categories], ['PCM', ['diabetes']], 'hypertension no longer counts');
  t.equal(evaluateEligibility(facts({ conditions: [hypertension] })).program, 'PCM', 'the default is untouched');
  t.throws(() => loadCcmRules({ profilesDir: mkdtempSync(join(tmpdir(), 'ccm-empty-')) }), /ConceptMap/);
});
