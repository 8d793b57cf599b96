import { mediaTypeParameter } from './media-type.js';

/**
 * The fhirVersion MIME-type parameter (http.html#version-parameter): the FHIR version this
 * server speaks, as the parameter and $versions write it (major.minor), and the values that
 * name it.
 */
export const FHIR_VERSION = '4.0';
const SPOKEN = new Set([FHIR_VERSION, '4.0.1']);

/** The fhirVersion parameter of one media type or range ('application/fhir+json; fhirVersion=4.0'), if any. */
export function fhirVersionOf(mediaType: string): string | undefined {
  return mediaTypeParameter(mediaType, 'fhirversion');
}

/** Whether a media type asks for (or is content of) a version this server does not speak. */
export function otherFhirVersion(mediaType: string): boolean {
  const v = fhirVersionOf(mediaType);
  return v !== undefined && !SPOKEN.has(v);
}
