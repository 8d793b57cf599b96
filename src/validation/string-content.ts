/**
 * Content checks on primitive string values: HTML tags where a reader does not expect markup
 * (security checks), and raw HTML in markdown (FHIR does not allow raw HTML tags in markdown, and
 * a renderer would pass them through).
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
