// Engine results -> the Parameters of $ccm-eligibility and $ccm-billing, exactly as
// ccm-fhir-contract.md tabulates them. Index-based engine traces become references via the
// FactsSources that facts-from-fhir returned with the facts.
import type { Parameters, ParametersParameter } from 'fhir/r4.js';
import type { BillingResult } from './billing.js';
import type { EligibilityResult } from './eligibility.js';
import type { FactsSources } from './facts-from-fhir.js';
import { wholeMinutes } from './minutes.js';
import type { WorklistRow } from './worklist.js';

const ref = (reference: string) => ({ reference });

/** The parts of one patient's eligibility (instance level: the Parameters' parameters). */
export function eligibilityParts(result: EligibilityResult, sources: FactsSources): ParametersParameter[] {
  const out: ParametersParameter[] = [
    { name: 'month', valueString: result.month },
    { name: 'eligible', valueBoolean: result.eligible },
  ];
  if (result.program) out.push({ name: 'program', valueCode: result.program });
  for (const key of result.notBilledReasons) out.push({ name: 'reason', valueCode: key });
  for (const c of result.conditions) {
    out.push({
      name: 'condition',
      part: [
        { name: 'reference', valueReference: ref(sources.conditions[c.index]) },
        { name: 'category', valueCode: c.category },
      ],
    });
  }
  return out;
}

/** The parts of one patient's billing (instance level: the Parameters' parameters). */
export function billingParts(result: BillingResult, sources: FactsSources): ParametersParameter[] {
  const out: ParametersParameter[] = [
    { name: 'month', valueString: result.month },
    { name: 'eligible', valueBoolean: result.eligible },
  ];
  if (result.program) out.push({ name: 'program', valueCode: result.program });
  if (result.billingPractitioner) out.push({ name: 'billingPractitioner', valueReference: ref(result.billingPractitioner) });
  for (const line of result.lines) {
    out.push({
      name: 'line',
      part: [
        { name: 'code', valueCoding: { system: line.system, code: line.code } },
        { name: 'units', valueInteger: line.units },
        { name: 'minutes', valueInteger: line.minutes },
        ...line.entries.map((i) => ({ name: 'entry', valueReference: ref(sources.timeEntries[i]) })),
      ],
    });
  }
  out.push({
    name: 'minutes',
    part: [
      // valueInteger (contract): each total in whole minutes, rounded down after summing.
      { name: 'clinicalStaff', valueInteger: wholeMinutes(result.minutes.clinicalStaff) },
      { name: 'billingPractitioner', valueInteger: wholeMinutes(result.minutes.billingPractitioner) },
      { name: 'counted', valueInteger: wholeMinutes(result.minutes.counted) },
    ],
  });
  for (const key of result.notBilledReasons) out.push({ name: 'reason', valueCode: key });
  for (const text of result.explanations) out.push({ name: 'explanation', valueString: text });
  return out;
}

export function eligibilityParameters(result: EligibilityResult, sources: FactsSources): Parameters {
  return { resourceType: 'Parameters', parameter: eligibilityParts(result, sources) };
}

export function billingParameters(result: BillingResult, sources: FactsSources): Parameters {
  return { resourceType: 'Parameters', parameter: billingParts(result, sources) };
}

/** One `patient` part of a type/system-level answer: `subject` first, then the patient's parts. */
export function patientPart(patient: string, parts: ParametersParameter[]): ParametersParameter {
  return { name: 'patient', part: [{ name: 'subject', valueReference: ref(patient) }, ...parts] };
}

/** `$ccm-worklist` (OperationDefinition ccm-worklist): rows in the order given (sort them with sortWorklist first). */
export function worklistParameters(month: string, rows: readonly WorklistRow[]): Parameters {
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'month', valueString: month },
      ...rows.map((r) => {
        const part: ParametersParameter[] = [];
        if (r.patient) part.push({ name: 'subject', valueReference: ref(r.patient) });
        part.push({ name: 'eligible', valueBoolean: r.eligible });
        if (r.program) part.push({ name: 'program', valueCode: r.program });
        if (r.billingPractitioner) part.push({ name: 'billingPractitioner', valueReference: ref(r.billingPractitioner) });
        part.push({ name: 'minutesCounted', valueInteger: r.minutesCounted });
        for (const l of r.billableToday) part.push({ name: 'billableCode', valueCoding: { system: l.system, code: l.code } });
        if (r.nextThreshold !== null) part.push({ name: 'nextThreshold', valueInteger: r.nextThreshold });
        if (r.minutesNeeded !== null) part.push({ name: 'minutesNeeded', valueInteger: r.minutesNeeded });
        part.push({ name: 'daysLeft', valueInteger: r.daysLeft });
        for (const key of r.notBilledReasons) part.push({ name: 'reason', valueCode: key });
        return { name: 'row', part };
      }),
    ],
  };
}
