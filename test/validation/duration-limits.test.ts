import t from 'tap';
import type { OperationOutcomeIssue, Resource } from 'fhir/r4.js';
import { createValidator } from '../../src/validation/validator.js';
import { validatorCases } from './test-data.js';

// min/maxValueDuration on a date: bounds relative to now (HL7 cases toplevel-min/maxvalueduration-*).
const cases = validatorCases(t);
if (cases) {
  const read = (f: string) => cases(f) as Resource & { url: string };
  const base = await createValidator();
  const errors = (issues: OperationOutcomeIssue[]) => issues.filter((i) => i.severity === 'error').map((i) => i.expression?.[0]);
  for (const which of ['min', 'max']) {
    t.test(`${which}ValueDuration`, async (t) => {
      const profile = read(`toplevel-${which}valueduration-profile.json`);
      const v = base.extend([profile]);
      const check = (f: string) => errors(v.validate(read(f), { profiles: [profile.url] }));
      t.same(check(`toplevel-${which}valueduration-fail.json`), ['Patient.birthDate']);
      t.same(check(`toplevel-${which}valueduration-pass.json`), [], 'inside the bound');
    });
    // R4 has no Duration choice: its JSON names the limit minValueQuantity/maxValueQuantity (Duration is a
    // Quantity), which on a date/dateTime/instant is the same relative bound (ElementDefinition.minValue[x]).
    t.test(`${which}ValueQuantity on a date is a duration limit (R4)`, async (t) => {
      const profile = JSON.parse(JSON.stringify(read(`toplevel-${which}valueduration-profile.json`)).replaceAll(`${which}ValueDuration`, `${which}ValueQuantity`)) as Resource & { url: string };
      const v = base.extend([profile]);
      const check = (f: string) => errors(v.validate(read(f), { profiles: [profile.url] }));
      t.same(check(`toplevel-${which}valueduration-fail.json`), ['Patient.birthDate']);
      t.same(check(`toplevel-${which}valueduration-pass.json`), [], 'inside the bound');
    });
  }
}
