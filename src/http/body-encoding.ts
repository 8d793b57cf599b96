import { isUtf8 } from 'node:buffer';
import { badRequest, FhirError } from '../fhir/errors.js';
import { mediaTypeParameter } from '../fhir/media-type.js';

/**
 * A request body's bytes as text. FHIR bodies are UTF-8 (R4 http.html, json.html): another
 * charset would be decoded wrongly, and bytes that are not UTF-8 would be stored as U+FFFD,
 * so both are refused rather than guessed at.
 */
export function bodyText(contentType: string, bytes: Buffer): string {
  const charset = mediaTypeParameter(contentType, 'charset');
  if (charset !== undefined && charset.toLowerCase() !== 'utf-8')
    throw FhirError.of(415, 'not-supported', `Content-Type charset '${charset.slice(0, 40)}' is not supported: FHIR bodies are UTF-8 (charset=utf-8)`);
  // isUtf8 is one native pass; the offset is only looked for once the body is known to be bad.
  if (!isUtf8(bytes)) throw badRequest(`The body is not valid UTF-8: invalid byte sequence at byte offset ${firstInvalidUtf8(bytes)}`, 'structure');
  return bytes.toString('utf8');
}

/**
 * The offset of the first byte that does not start a well-formed UTF-8 sequence (Unicode
 * table 3-7: no overlongs, no surrogates, nothing above U+10FFFF), or -1 when there is none.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let more: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) more = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      more = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      more = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= more; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += more + 1;
  }
  return -1;
}
