/**
 * Content checks on primitive string values: HTML tags where a reader does not expect markup
 * (security checks), raw HTML in markdown (FHIR does not allow raw HTML tags in markdown, and
 * a renderer would pass them through), lone surrogates and control characters.
 */

/** A tag body: a name, then optionally whitespace and anything (`script`, `a href=x`). */
const TAG_BODY = /^[A-Za-z]\w*(?:\s[\s\S]*)?$/;

/**
 * True when the text holds something a browser would take for an HTML start tag: `<`, a tag body,
 * and a `>` before any further `<`. `a < b`, `x<5` and `<>` are not tags.
 */
export function containsHtmlTags(text: string): boolean {
  let lt = text.indexOf('<');
  while (lt >= 0) {
    const next = text.indexOf('<', lt + 1);
    const gt = text.indexOf('>', lt + 1);
    if (gt > lt && (next < 0 || gt < next) && TAG_BODY.test(text.slice(lt + 1, gt))) return true;
    lt = next;
  }
  return false;
}

const ALPHABETIC = /\p{Alphabetic}/u;

/**
 * Where raw HTML starts in a markdown value: the first `<` followed by a letter that is not escaped
 * with a backslash (`\<b>` is literal text in markdown); -1 when there is none.
 */
export function markdownHtmlAt(text: string): number {
  for (let i = text.indexOf('<'); i >= 0 && i < text.length - 1; i = text.indexOf('<', i + 1)) {
    if (i > 0 && text.charCodeAt(i - 1) === 92) continue;
    if (ALPHABETIC.test(String.fromCodePoint(text.codePointAt(i + 1) as number))) return i;
  }
  return -1;
}

/**
 * Where the first lone surrogate is (a JSON `\ud800` with no partner), or -1. A FHIR string is a
 * sequence of Unicode characters and a lone surrogate is none (it cannot even be written as UTF-8).
 */
export function loneSurrogateAt(text: string): number {
  // Node 20 has isWellFormed (one native pass); the ES2022 lib this project compiles against does not declare it.
  if ((text as unknown as { isWellFormed(): boolean }).isWellFormed()) return -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    const next = text.charCodeAt(i + 1);
    if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return i;
    i++;
  }
  return -1;
}

/** C0 controls other than tab, LF and CR: R4 datatypes.html#string says strings SHOULD NOT hold them. */
const CONTROL = /[\x00-\x08\x0B\x0C\x0E-\x1F]/;

/** Where the first such control character is, or -1. */
export function controlCharacterAt(text: string): number {
  return text.search(CONTROL);
}

/** A UTF-16 code unit as U+XXXX, for messages about characters that cannot be shown. */
export const codeUnit = (text: string, at: number) => `U+${text.charCodeAt(at).toString(16).toUpperCase().padStart(4, '0')}`;
