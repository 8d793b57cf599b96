/**
 * Whether a uri is absolute (RFC 3986 absolute-URI: a scheme, then ':'), as a Coding or
 * Identifier system, a Bundle fullUrl or a reference to another server must be; 'LOINC',
 * 'MRN' or 'Patient/1' are not.
 */
export function isAbsoluteUri(uri: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(uri);
}
