/**
 * The narrative rules of txt-1/txt-2 (`htmlChecks()`, which fhirpath.js does not implement):
 * an XHTML <div> holding only the basic formatting elements and attributes the R4 Narrative
 * page allows, no scripts, forms or event handlers, and some non-whitespace content.
 */

// Elements and attributes allowed by the R4 narrative rules (HTML 4.0 chapters 7-11 and 15, minus forms/scripts).
const ALLOWED_ELEMENTS = new Set(
  (
    'a abbr acronym address b bdo big blockquote br caption cite code col colgroup dd dfn div dl dt em ' +
    'h1 h2 h3 h4 h5 h6 hr i img kbd li ol p pre q samp small span strong sub sup table tbody td tfoot th thead ' +
    'tr tt ul var'
  ).split(' '),
);
const ALLOWED_ATTRIBUTES = new Set(
  (
    'abbr accesskey align alt axis bgcolor border cellhalign cellpadding cellspacing cellvalign char charoff ' +
    'charset cite class colspan compact coords dir frame headers height href hreflang hspace id lang longdesc ' +
    'name nowrap rel rev rowspan rules scope shape span src start style summary tabindex title type valign ' +
    'value vspace width xml:lang xmlns'
  ).split(' '),
);
const XML_ENTITIES = new Set(['lt', 'gt', 'amp', 'quot', 'apos']);

export interface XhtmlProblem {
  message: string;
  /** txt-1 (allowed content) or txt-2 (non-empty). */
  key: 'txt-1' | 'txt-2';
}

export function checkNarrativeDiv(div: string): XhtmlProblem[] {
  const problems: XhtmlProblem[] = [];
  const trimmed = div.trim();
  if (!/^<div[\s>]/.test(trimmed)) {
    problems.push({ key: 'txt-1', message: 'The narrative must be an XHTML <div> element' });
    return problems;
  }
  if (!/^<div[^>]*\sxmlns\s*=\s*["']http:\/\/www\.w3\.org\/1999\/xhtml["']/.test(trimmed))
    problems.push({ key: 'txt-1', message: 'The narrative <div> must be in the XHTML namespace' });
  const stack: string[] = [];
  // No '<' inside names or unquoted values: keeps matching linear on malformed input.
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[^\s=/<>]+(?:\s*=\s*(?:"[^"<]*"|'[^'<]*'|[^\s<>]+))?)*)\s*(\/?)>|<!--[\s\S]*?-->|&(#?[\w]+);|<!\[CDATA\[|<[!?]/g;
  let text = trimmed.replace(/<!--[\s\S]*?-->/g, '');
  let hasContent = /<img[\s>]/.test(text);
  let m: RegExpExecArray | null;
  const body = text;
  text = '';
  let last = 0;
  while ((m = tag.exec(body))) {
    text += body.slice(last, m.index);
    last = tag.lastIndex;
    if (m[0].startsWith('<!--')) continue;
    if (m[5] !== undefined) {
      const entity = m[5];
      if (!entity.startsWith('#') && !XML_ENTITIES.has(entity))
        problems.push({ key: 'txt-1', message: `Invalid entity in the XHTML ('&${entity};')` });
      text += 'x';
      continue;
    }
    if (m[2] === undefined) {
      problems.push({ key: 'txt-1', message: 'Processing instructions, DOCTYPEs and CDATA are not allowed in the narrative' });
      continue;
    }
    const closing = m[1] === '/';
    const name = m[2].toLowerCase();
    if (!ALLOWED_ELEMENTS.has(name)) problems.push({ key: 'txt-1', message: `Invalid element name in the XHTML ('${name}')` });
    if (closing) {
      if (stack.pop() !== name) problems.push({ key: 'txt-1', message: `The XHTML is not well formed at '</${name}>'` });
      continue;
    }
    const attrs = m[3] ?? '';
    const attr = /([^\s=/>]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?/g;
    let a: RegExpExecArray | null;
    while ((a = attr.exec(attrs))) {
      const an = a[1].toLowerCase();
      const value = (a[2] ?? '').replace(/^["']|["']$/g, '');
      if (!ALLOWED_ATTRIBUTES.has(an) && !an.startsWith('xmlns:'))
        problems.push({ key: 'txt-1', message: `Invalid attribute name in the XHTML ('${an}' on '${name}')` });
      else if ((an === 'href' || an === 'src') && /^\s*(javascript|vbscript):/i.test(value))
        problems.push({ key: 'txt-1', message: `Script URLs are not allowed in the XHTML ('${an}' on '${name}')` });
    }
    if (m[4] !== '/') stack.push(name);
  }
  text += body.slice(last);
  if (stack.length) problems.push({ key: 'txt-1', message: `The XHTML is not well formed: <${stack[stack.length - 1]}> is not closed` });
  if (/</.test(text)) problems.push({ key: 'txt-1', message: 'The XHTML is not well formed' });
  if (!hasContent && text.trim().length > 0) hasContent = true;
  if (!hasContent) problems.push({ key: 'txt-2', message: 'The narrative SHALL have some non-whitespace content' });
  return problems;
}
