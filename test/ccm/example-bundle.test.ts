// The documented example transaction: its resources, as the server stores them, bill 99490 + 99439;
// the Parameters and ChargeItems are built exactly as the contract says.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/project-root.js';
import type { Bundle, CarePlan, Condition, Consent, Coverage, Encounter, Parameters, Patient, Resource } from 'fhir/r4.js';
import { evaluateBilling } from '../../src/ccm/billing.js';
import { chargeItemsFromBilling, chargeItemsToRetire, chargeItemUpdates, chargeItemId } from '../../src/ccm/charge-items.js';
import { evaluateEligibility } from '../../src/ccm/eligibility.js';
import { factsFromFhir, type PatientResources } from '../../src/ccm/facts-from-fhir.js';
import { billingParameters, eligibilityParameters, patientPart, billingParts } from '../../src/ccm/parameters.js';

const bundle = JSON.parse(readFileSync(join(projectRoot(), 'profiles/examples/ccm-example-transaction.json'), 'utf8')) as Bundle;

/** What a server does to a transaction: ids from the urn:uuid fullUrls, references rewritten to Type/id. */
function stored(): Resource[] {
  const map = new Map<string, string>();
  for (const e of bundle.entry ?? []) map.set(e.fullUrl!, `${e.resource!.resourceType}/${e.fullUrl!.slice('urn:uuid:'.length)}`);
  const text = JSON.stringify((bundle.entry ?? []).map((e) => ({ ...e.resource, id: e.fullUrl!.slice('urn:uuid:'.length) })));
  return JSON.parse(text.replace(/"reference":"(urn:uuid:[^"]+)"/g, (_, u: string) => `"reference":"${map.get(u)}"`)) as Resource[];
}

function resources(): PatientResources {
  const all = stored();
  const of = <T extends Resource>(type: string) => all.filter((r) => r.resourceType === type) as T[];
  return {
    patient: of<Patient>('Patient')[0],
    coverages: of<Coverage>('Coverage'),
    conditions: of<Condition>('Condition'),
    consents: of<Consent>('Consent'),
    carePlans: of<CarePlan>('CarePlan'),
    encounters: of<Encounter>('Encounter'),
  };
}

const value = (p: Parameters, name: string) => p.parameter?.filter((x) => x.name === name) ?? [];

t.test('the example bundle is a transaction of POSTs with the promised content', async (t) => {
  t.equal(bundle.type, 'transaction');
  const types = (bundle.entry ?? []).map((e) => e.resource!.resourceType);
  t.same(types.filter((x) => x === 'Condition').length, 2, 'two chronic conditions');
  t.same(types.filter((x) => x === 'Encounter').length, 4, 'initiating visit + three time entries');
  t.ok(types.includes('Coverage') && types.includes('Consent') && types.includes('CarePlan'));
  t.ok((bundle.entry ?? []).every((e) => e.request?.method === 'POST' && e.fullUrl?.startsWith('urn:uuid:')));
});

t.test('facts, eligibility and billing of the example', async (t) => {
  const { facts, sources, skipped } = factsFromFhir(resources(), '2025-03');
  t.same(skipped, []);
  t.equal(facts.patient.medicare, true);
  t.equal(facts.conditions.length, 2);
  t.equal(facts.timeEntries.length, 3);
  t.same(facts.otherServicesInMonth, [], 'the February visit is not a service of March');

  const eligibility = evaluateEligibility(facts);
  const ep = eligibilityParameters(eligibility, sources);
  t.same(value(ep, 'eligible')[0].valueBoolean, true);
  t.same(value(ep, 'program')[0].valueCode, 'CCM');
  t.same(
    value(ep, 'condition').map((c) => [c.part?.[0].valueReference?.reference?.split('/')[0], c.part?.[1].valueCode]),
    [['Condition', 'hypertension'], ['Condition', 'diabetes']],
  );

  const billing = evaluateBilling(facts);
  t.same(billing.lines.map((l) => `${l.code}x${l.units}`), ['99490x1', '99439x1']);
  t.same(billing.minutes, { clinicalStaff: 40, billingPractitioner: 12, counted: 52 });
  t.same(billing.notBilledReasons, []);
  t.equal(billing.billingPractitioner, 'Practitioner/7b1c5a8e-0d1f-4c57-9a2e-1f0c3b9d0002');

  const bp = billingParameters(billing, sources);
  t.same(
    bp.parameter?.map((p) => p.name),
    ['month', 'eligible', 'program', 'billingPractitioner', 'line', 'line', 'minutes', ...billing.explanations.map(() => 'explanation')],
  );
  const line0 = value(bp, 'line')[0].part!;
  t.same(line0.map((p) => p.name), ['code', 'units', 'minutes', 'entry']);
  t.same(line0[0].valueCoding, { system: 'http://www.ama-assn.org/go/cpt', code: '99490' });
  t.same(line0[2].valueInteger, 20);
  t.same(line0.slice(3).map((p) => p.valueReference?.reference), [sources.timeEntries[0]], 'the first 25 staff minutes cover the first 20');
  t.same(value(bp, 'line')[1].part!.slice(3).map((p) => p.valueReference?.reference), [sources.timeEntries[0], sources.timeEntries[1]], 'minutes 20-40 come from the 25- and 15-minute entries');
  t.same(value(bp, 'minutes')[0].part?.map((p) => [p.name, p.valueInteger]), [['clinicalStaff', 40], ['billingPractitioner', 12], ['counted', 52]]);
  t.ok(value(bp, 'explanation').every((e) => /\((?:[A-Z]+\d+)(?:, [A-Z]+\d+)*\)\.$/.test(e.valueString ?? '')));

  const wrapped = patientPart(sources.patient, billingParts(billing, sources));
  t.same(wrapped.part?.[0], { name: 'subject', valueReference: { reference: sources.patient } }, 'system level: subject first');

  const items = chargeItemsFromBilling(billing, facts, sources);
  t.equal(items.length, 2);
  const [first] = items;
  t.same(first.identifier, [{ system: 'https://ccm-fhir.org/fhir/charge', value: '7b1c5a8e-0d1f-4c57-9a2e-1f0c3b9d0001|2025-03|99490' }]);
  t.equal(first.status, 'billable');
  t.same(first.quantity, { value: 1 });
  t.same(first.occurrencePeriod, { start: '2025-03-01', end: '2025-03-31' });
  t.same(first.performer, [{ actor: { reference: billing.billingPractitioner! } }]);
  t.same(first.reason?.map((r) => r.coding?.[0].code), ['I10', '44054006']);
  t.same(first.supportingInformation?.map((r) => r.reference), [sources.timeEntries[0]]);
  t.equal(first.id, chargeItemId(sources.patient, '2025-03', '99490'));
  t.match(first.id, /^ccm-[0-9a-f]{40}$/);
  t.same(chargeItemsFromBilling(evaluateBilling(facts), facts, sources), items, 'idempotent: same identifiers and ids on a re-run');

  // persisted items are not "other services" of a re-run
  const again = factsFromFhir({ ...resources(), chargeItems: items }, '2025-03');
  t.same(again.facts.otherServicesInMonth, []);

  // a later run that no longer bills 99439 retires that item (unless already billed)
  const fewer = items.slice(0, 1);
  const retired = chargeItemsToRetire(items, fewer, sources.patient, '2025-03');
  t.same(retired.map((c) => [c.code?.coding?.[0].code, c.status]), [['99439', 'not-billable']]);
  t.same(chargeItemsToRetire([{ ...items[1], status: 'billed' }], fewer, sources.patient, '2025-03'), []);
  t.same(chargeItemsToRetire(items, fewer, sources.patient, '2025-04'), [], 'other months are left alone');

  // a billed ChargeItem is never rewritten: not back to billable, not retired; a difference is reported
  const billed = items.map((c) => ({ ...c, status: 'billed' as const }));
  t.same(chargeItemUpdates(billed, items, sources.patient, '2025-03'), { writes: [], billedNotes: [] }, 'the month agrees with the claims');
  t.same(chargeItemUpdates([billed[0], items[1]], items, sources.patient, '2025-03').writes, [items[1]], 'the billable one is still written');
  const more = [items[0], { ...items[1], quantity: { value: 2 }, performer: [{ actor: { reference: 'Practitioner/other' } }] }];
  const changed = chargeItemUpdates(billed, more, sources.patient, '2025-03');
  t.same(changed.writes, [], 'other units and practitioner: left as billed');
  t.equal(changed.billedNotes.length, 1);
  t.match(changed.billedNotes[0], /^99439 of 2025-03 is already billed \(ChargeItem\/ccm-[0-9a-f]{40}, 1 unit by Practitioner\/[^)]+\) and is left as it is, although the month now gives 2 units and the month now bills it for Practitioner\/other/);
  const gone = chargeItemUpdates(billed, fewer, sources.patient, '2025-03');
  t.same(gone.writes, [], 'no line for a billed code: not retired');
  t.match(gone.billedNotes, [/no longer bills 99439/]);
  t.same(chargeItemUpdates(billed, [], sources.patient, '2025-04'), { writes: [], billedNotes: [] }, 'other months are left alone');
});

t.test('the example in a practice time zone', async (t) => {
  const { facts } = factsFromFhir(resources(), '2025-03', { timeZone: 'America/New_York' });
  const billing = evaluateBilling(facts, { timeZone: 'America/New_York' });
  t.same(billing.lines.map((l) => `${l.code}x${l.units}`), ['99490x1', '99439x1']);
});
