// Practice configuration of the CCM operations, read from the environment when used (README
// "Chronic Care Management"): CCM_TIME_ZONE = the practice time zone (IANA name, default UTC) in
// which date-times are read (ccm-billing-rules.md EP2) and "today" is taken.
import { isValidTimeZone, toLocal } from '../ccm/index.js';
import { FhirError } from '../fhir/errors.js';

export const DEFAULT_CCM_TIME_ZONE = 'UTC';

/** The practice time zone from CCM_TIME_ZONE (UTC when unset or empty); an unknown zone is a server error (500). */
export function ccmTimeZone(env: NodeJS.ProcessEnv = process.env): string {
  const zone = env.CCM_TIME_ZONE?.trim();
  if (!zone) return DEFAULT_CCM_TIME_ZONE;
  if (!isValidTimeZone(zone)) {
    throw new FhirError(500, {
      severity: 'error',
      code: 'exception',
      diagnostics: `Server configuration: CCM_TIME_ZONE '${zone.slice(0, 60)}' is not a known IANA time zone (e.g. America/Chicago)`,
    });
  }
  return zone;
}

/** Today's local date (YYYY-MM-DD) in the practice time zone. */
export function practiceToday(now: Date = new Date(), env: NodeJS.ProcessEnv = process.env): string {
  return toLocal(now.toISOString(), ccmTimeZone(env))!.date;
}
