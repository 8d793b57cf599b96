/**
 * The regexes of the FHIR primitive types (the `regex` extension) are XML Schema / Java regexes,
 * where `\s` is ASCII whitespace ([ \t\n\x0B\f\r]). JavaScript's `\s` also takes the Unicode
 * spaces, so its `\S` refused a string holding a no-break space, U+2028 or U+3000, which
 * `[ \r\n\t\S]+` (string, markdown) allows. Each `\s` and `\S` is written out as those classes.
 */
const SPACE = ' \\t\\n\\x0B\\f\\r';
const NOT_SPACE = '\\x00-\\x08\\x0E-\\x1F\\x21-\\uFFFF';

export function fhirRegex(source: string): RegExp {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\' && i + 1 < source.length) {
      const next = source[i + 1];
      i++;
      if (next === 's') out += inClass ? SPACE : `[${SPACE}]`;
      else if (next === 'S') out += inClass ? NOT_SPACE : `[${NOT_SPACE}]`;
      else out += c + next;
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return new RegExp(`^(?:${out})$`);
}
