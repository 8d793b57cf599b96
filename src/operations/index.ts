import { ccmBillingOperation } from './ccm-billing.js';
import { ccmEligibilityOperation } from './ccm-eligibility.js';
import { ccmWorklistOperation } from './ccm-worklist.js';
import type { Operation } from './operation.js';
import { patientEverythingOperation } from './patient-everything.js';
import { validateOperation } from './validate.js';
import { versionsOperation } from './versions.js';

/** The operations this server serves; each one is listed in the CapabilityStatement. */
export function builtInOperations(): Operation[] {
  return [validateOperation, versionsOperation, ccmEligibilityOperation, ccmBillingOperation, ccmWorklistOperation, patientEverythingOperation];
}
