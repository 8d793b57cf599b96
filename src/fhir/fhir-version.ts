/**
 * The fhirVersion MIME-type parameter (http.html#version-parameter): the FHIR version this
 * server speaks, as the parameter and $versions write it (major.minor), and the values that
 * name it.
 */
export const FHIR_VERSION = '4.0';
const SPOKEN = new Set([FHIR_VERSION, '4.0.1']);

/** The fhirVersion parameter of one media type or range ('application/fhir+json; fhirVersion=4.0'), if any. */
export function fhirVersionOf(mediaType: string): string | undefined {
  for (const param of mediaType.split(';').slice(1)) {
    const eq = param.indexOf('=');
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'fhirversion') continue;
    return param.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

/** Whether a media type asks for (or is content of) a version this server does not speak. */
export function otherFhirVersion(mediaType: string): boolean {
  const v = fhirVersionOf(mediaType);
  return v !== undefined && !SPOKEN.has(v);
}
