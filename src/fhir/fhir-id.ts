const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** Whether a string is a FHIR id (datatypes.html#id). */
export const isFhirId = (s: string): boolean => ID.test(s);
