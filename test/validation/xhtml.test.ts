import t from 'tap';
import { checkNarrativeDiv } from '../../src/validation/xhtml.js';

const DIV = '<div xmlns="http://www.w3.org/1999/xhtml">';
const keys = (div: string) => checkNarrativeDiv(div).map((p) => `${p.key}: ${p.message}`);

t.test('inputs that made the tag and comment regexes backtrack finish, refused as not well formed', async (t) => {
  // An unclosed tag with many quoted attributes: the regex tried 2^N parses (N=30 took a minute).
  const unclosed = `${DIV}<p${' a="x"'.repeat(200)} </div>`;
  t.match(keys(unclosed).join('\n'), /not well formed/, 'an unclosed tag with 200 attributes');
  // Thousands of unclosed comments: each was scanned to the end (quadratic).
  const comments = `${DIV}${'<!--'.repeat(250_000)}</div>`;
  t.match(keys(comments), [/comment in the XHTML is not closed/], 'a megabyte of unclosed comments');
});

t.test('well-formedness and allowed content', async (t) => {
  t.same(keys(`${DIV}<p class="a" title='b' lang=en>x &amp; y &#160;<br/><img src="x.png" alt=""/></p><!-- note --></div>`), [], 'a good narrative');
  t.same(keys(`${DIV}<p>a</p></div>`), []);
  t.match(keys(`${DIV}<p title="a" title="b">x</p></div>`), [/attribute 'title' appears twice/], 'a repeated attribute');
  t.match(keys(`${DIV}fish & chips</div>`), [/'&' that starts no entity/], 'a bare &');
  t.match(keys(`${DIV}<p>x</p></div><div xmlns="http://www.w3.org/1999/xhtml">y</div>`), [/after the root <div> has closed/], 'two root elements');
  t.match(keys(`${DIV}<script>x</script></div>`), [/Invalid element name.*script/]);
  t.match(keys(`${DIV}<a href="javascript:alert(1)">x</a></div>`), [/Script URLs/]);
  t.match(keys(`${DIV}<p onclick="x">y</p></div>`), [/Invalid attribute name.*onclick/]);
  t.match(keys(`${DIV}<p>x</div>`), [/not well formed/], 'a tag left open');
  t.match(keys(`${DIV}<![CDATA[x]]></div>`), [/CDATA/]);
  t.match(keys(`${DIV}&nbsp;x</div>`), [/Invalid entity.*nbsp/], 'an HTML entity XML does not know');
  t.match(keys(`${DIV}   </div>`), [/txt-2/], 'no content');
  t.same(keys(`${DIV}<img src="a.png"/></div>`), [], 'an image is content');
  t.match(keys(`${DIV}a < b</div>`), [/not well formed/], 'a bare <');
});
