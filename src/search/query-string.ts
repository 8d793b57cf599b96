/**
 * Pairs written as a query string exactly as URLSearchParams#toString writes them (the
 * application/x-www-form-urlencoded serializer of the URL Standard), without building a
 * URLSearchParams: the self link of every search page is written this way.
 */
export function formEncode(pairs: ReadonlyArray<readonly [string, string]>): string {
  let out = '';
  for (let i = 0; i < pairs.length; i++) out += (i ? '&' : '') + encodePart(pairs[i][0]) + '=' + encodePart(pairs[i][1]);
  return out;
}

/** Left as they are by the serializer: ASCII letters, digits and * - . _ */
const SAFE = /^[A-Za-z0-9*\-._]*$/;
/** What encodeURIComponent leaves but the serializer encodes, and the space it writes as '+'. */
const FIXES = /[!'()~]|%20/g;
const FIXED: Record<string, string> = { '!': '%21', "'": '%27', '(': '%28', ')': '%29', '~': '%7E', '%20': '+' };

/**
 * Safe characters plus the separators of FHIR values ('/' of references, '|' of tokens, ':' of
 * URLs), which the serializer writes as %2F, %7C and %3A: three scans for a character, where
 * encodeURIComponent builds the string again one character at a time.
 */
const SAFE_OR_SEPARATOR = /^[A-Za-z0-9*\-._/|:]*$/;

function encodePart(s: string): string {
  if (SAFE.test(s)) return s;
  if (SAFE_OR_SEPARATOR.test(s)) return s.replaceAll('/', '%2F').replaceAll('|', '%7C').replaceAll(':', '%3A');
  try {
    return encodeURIComponent(s).replace(FIXES, (m) => FIXED[m]);
  } catch {
    // A lone surrogate: the serializer writes it as U+FFFD, which URLSearchParams does for us.
    return new URLSearchParams([['', s]]).toString().slice(1);
  }
}
