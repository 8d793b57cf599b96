/**
 * The `_sort` parameters MongoDB keeps an index for (two each: ascending and descending).
 * Every index costs every write, so this is the short list clinical and CCM clients sort on:
 * clinical dates (Observation, Encounter, Procedure, DiagnosticReport, CarePlan... `date`;
 * Condition onset; MedicationRequest authoredOn), birth date and family name. Other sort
 * parameters work the same, with an in-memory sort of the matches.
 */
export const SORT_INDEXED: readonly string[] = ['date', 'birthdate', 'onset-date', 'authoredon', 'family'];
