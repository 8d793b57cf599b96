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
  // One pass, by hand: each step moves forward, so no input (an unclosed tag with many
  // attributes, thousands of unclosed comments) costs more than a scan of it. A regex here
  // backtracked exponentially on an unclosed tag.
  const body = trimmed;
  let text = '';
  let hasContent = false;
  let rootSeen = false;
  let i = 0;
  while (i < body.length) {
    const lt = body.indexOf('<', i);
    const amp = body.indexOf('&', i);
    const next = lt < 0 ? amp : amp < 0 ? lt : Math.min(lt, amp);
    if (next < 0) {
      text += body.slice(i);
      break;
    }
    text += body.slice(i, next);
    if (next === amp) {
      ENTITY.lastIndex = next;
      const e = ENTITY.exec(body);
      if (!e) problems.push({ key: 'txt-1', message: "The XHTML is not well formed: '&' that starts no entity (write &amp;)" });
      else if (!e[1].startsWith('#') && !XML_ENTITIES.has(e[1])) problems.push({ key: 'txt-1', message: `Invalid entity in the XHTML ('&${e[1]};')` });
      text += 'x';
      i = e ? next + e[0].length : next + 1;
      continue;
    }
    if (body.startsWith('<!--', next)) {
      const close = body.indexOf('-->', next + 4);
      if (close < 0) {
        problems.push({ key: 'txt-1', message: "A comment in the XHTML is not closed ('<!--' without '-->')" });
        break;
      }
      i = close + 3;
      continue;
    }
    if (body[next + 1] === '!' || body[next + 1] === '?') {
      problems.push({ key: 'txt-1', message: 'Processing instructions, DOCTYPEs and CDATA are not allowed in the narrative' });
      i = next + 2;
      continue;
    }
    const t = scanTag(body, next);
    if (!t) {
      text += '<'; // not a tag: "not well formed" below
      i = next + 1;
      continue;
    }
    i = t.end;
    const name = t.name.toLowerCase();
    if (name === 'img') hasContent = true;
    if (!ALLOWED_ELEMENTS.has(name)) problems.push({ key: 'txt-1', message: `Invalid element name in the XHTML ('${name}')` });
    if (t.closing) {
      if (stack.pop() !== name) problems.push({ key: 'txt-1', message: `The XHTML is not well formed at '</${name}>'` });
      continue;
    }
    const seen = new Set<string>();
    for (const [rawName, value] of t.attrs) {
      const an = rawName.toLowerCase();
      if (seen.has(an)) problems.push({ key: 'txt-1', message: `The XHTML is not well formed: the attribute '${an}' appears twice on '${name}'` });
      seen.add(an);
      if (!ALLOWED_ATTRIBUTES.has(an) && !an.startsWith('xmlns:'))
        problems.push({ key: 'txt-1', message: `Invalid attribute name in the XHTML ('${an}' on '${name}')` });
      else if ((an === 'href' || an === 'src') && /^\s*(javascript|vbscript):/i.test(value))
        problems.push({ key: 'txt-1', message: `Script URLs are not allowed in the XHTML ('${an}' on '${name}')` });
    }
    if (stack.length === 0 && rootSeen) problems.push({ key: 'txt-1', message: `The XHTML is not well formed: '<${name}>' after the root <div> has closed` });
    rootSeen = true;
    if (!t.selfClosing) stack.push(name);
  }
  if (stack.length) problems.push({ key: 'txt-1', message: `The XHTML is not well formed: <${stack[stack.length - 1]}> is not closed` });
  if (/</.test(text)) problems.push({ key: 'txt-1', message: 'The XHTML is not well formed' });
  if (!hasContent && text.trim().length > 0) hasContent = true;
  if (!hasContent) problems.push({ key: 'txt-2', message: 'The narrative SHALL have some non-whitespace content' });
  return problems;
}

const ENTITY = /&(#?\w+);/y;
const TAG_NAME = /[A-Za-z][\w:.-]*/y;
const ATTR_NAME = /[^\s=/<>"']+/y;
const UNQUOTED = /[^\s<>"'=`]+/y;

interface Tag {
  end: number;
  closing: boolean;
  name: string;
  attrs: Array<[string, string]>;
  selfClosing: boolean;
}

/** The tag starting at `at` ('<'), or undefined when what follows is no well-formed tag. */
function scanTag(body: string, at: number): Tag | undefined {
  let j = at + 1;
  const closing = body[j] === '/';
  if (closing) j++;
  TAG_NAME.lastIndex = j;
  const name = TAG_NAME.exec(body)?.[0];
  if (!name) return undefined;
  j += name.length;
  const attrs: Array<[string, string]> = [];
  for (;;) {
    const from = j;
    while (isXmlSpace(body.charCodeAt(j))) j++;
    if (body[j] === '>') return { end: j + 1, closing, name, attrs, selfClosing: false };
    if (body[j] === '/' && body[j + 1] === '>') return { end: j + 2, closing, name, attrs, selfClosing: true };
    if (j === from || closing) return undefined; // attributes are set apart by space; a closing tag has none
    ATTR_NAME.lastIndex = j;
    const an = ATTR_NAME.exec(body)?.[0];
    if (!an) return undefined;
    j += an.length;
    let k = j;
    while (isXmlSpace(body.charCodeAt(k))) k++;
    if (body[k] !== '=') {
      attrs.push([an, '']);
      continue;
    }
    k++;
    while (isXmlSpace(body.charCodeAt(k))) k++;
    const q = body[k];
    let value: string;
    if (q === '"' || q === "'") {
      const close = body.indexOf(q, k + 1);
      if (close < 0) return undefined;
      value = body.slice(k + 1, close);
      if (value.includes('<')) return undefined;
      j = close + 1;
    } else {
      UNQUOTED.lastIndex = k;
      const v = UNQUOTED.exec(body)?.[0];
      if (!v) return undefined;
      value = v;
      j = k + v.length;
    }
    attrs.push([an, value]);
  }
}

/** XML's white space (S: #x20 | #x9 | #xD | #xA); a no-break space is content, not a separator. */
const isXmlSpace = (c: number) => c === 32 || c === 9 || c === 13 || c === 10;
