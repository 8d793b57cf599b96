// Public API of the CCM domain, for the operations layer. Pure functions over plain data;
// nothing here touches HTTP, the store, search or validation.
export type { CcmFacts, ConditionFact, ConsentFact, CarePlanFact, InitiatingVisitFact, TimeEntryFact, PatientFacts, Performer, MdmLevel, FactsProblem } from './facts.js';
export { CcmInputError } from './facts.js';
export { evaluateEligibility, type EligibilityResult } from './eligibility.js';
export { evaluateBilling, type BillingResult, type BillingLine } from './billing.js';
export { factsFromFhir, referenceTarget, minutesOf, CM_SYSTEM, CHARGE_IDENTIFIER_SYSTEM, type PatientResources, type FactsSources, type FactsFromFhir, type SkippedResource } from './facts-from-fhir.js';
export { eligibilityParameters, billingParameters, eligibilityParts, billingParts, patientPart, worklistParameters } from './parameters.js';
export { chargeItemsFromBilling, chargeItemsToRetire, chargeItemUpdates, chargeItemId, chargeIdentifierValue, type ChargeItemUpdates } from './charge-items.js';
export { worklistRow, compareWorklistRows, sortWorklist, type WorklistRow } from './worklist.js';
export { loadCcmRules, type CcmRules, type EngineOptions, type LoadRulesOptions } from './rules.js';
export { paymentEstimate, type PaymentEstimate } from './payments.js';
export { isValidMonth, isValidTimeZone, isFutureMonth, monthBounds, toLocal } from './dates.js';
export type { Decision } from './explain.js';
export type { ReasonKey, GateKey, BlockKey } from './reasons.js';
