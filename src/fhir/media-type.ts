/** One parameter of a media type ('application/fhir+json; charset=utf-8'), unquoted; undefined when absent. */
export function mediaTypeParameter(mediaType: string, name: string): string | undefined {
  for (const param of mediaType.split(';').slice(1)) {
    const eq = param.indexOf('=');
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== name) continue;
    return param.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}
