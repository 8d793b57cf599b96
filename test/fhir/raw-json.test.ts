import t from 'tap';
import type { Bundle, BundleEntry } from 'fhir/r4.js';
import { serializeJson, storedEntryMaker } from '../../src/fhir/raw-json.js';
import { serialize } from '../../src/http/render.js';

// Search pages splice stored JSON: the text must be exactly what JSON.stringify gives for the parsed page.

/** The entry a search engine on the URL's base makes for it. */
const entryFor = (fullUrl: string, json: string, search: BundleEntry['search']) => {
  const [, base, type, id] = /^(.*)\/([^/]*)\/([^/]*)$/.exec(fullUrl)!;
  return storedEntryMaker(base)(type, id, json, search);
};

const stored = JSON.stringify({ resourceType: 'Patient', id: 'a', name: [{ family: 'Müller "Q" \\ 漢' }] });
const page = (fullUrls: string[], search: BundleEntry['search'][]): Bundle => ({
  resourceType: 'Bundle',
  type: 'searchset',
  total: fullUrls.length,
  link: [{ relation: 'self', url: 'http://x/fhir/Patient?name=M%C3%BCller' }],
  entry: fullUrls.map((u, i) => entryFor(u, stored, search[i])),
});
const plain = (b: Bundle) => JSON.stringify({ ...b, entry: b.entry!.map((e) => ({ fullUrl: e.fullUrl, resource: JSON.parse(stored), ...(e.search ? { search: e.search } : {}) })) });

t.test('fullUrls and search objects are written as JSON.stringify writes them', async (t) => {
  const urls = ['http://x/fhir/Patient/a', 'http://x/fhir/Patient/b"c', 'http://x/fhir/Patient/d\\e', 'http://ex.org/ü/Patient/f', 'http://x/fhir/Patient/\u0001g'];
  const searches: BundleEntry['search'][] = [{ mode: 'match' }, { mode: 'include' }, { mode: 'outcome' }, { mode: 'match', score: 0.5 }, undefined];
  const b = page(urls, searches);
  t.equal(serializeJson(b, false), plain(b));
  t.same(JSON.parse(serializeJson(b, false)).entry.map((e: BundleEntry) => e.fullUrl), urls, 'quotes, backslashes, non-ASCII and control characters survive');
});

t.test('long bodies are sent as their UTF-8 bytes, short ones as text', async (t) => {
  const pageOf = (n: number) => page(Array.from({ length: n }, (_, i) => `http://x/fhir/Patient/p${i}`), Array(n).fill({ mode: 'match' }));
  const long = pageOf(200);
  t.ok(plain(long).length > 16384);
  const bytes = serialize(long, false);
  t.ok(Buffer.isBuffer(bytes));
  t.equal((bytes as Buffer).toString('utf8'), plain(long), 'the bytes decode to the same text');
  const middle = pageOf(50);
  t.ok(plain(middle).length > 4096 && plain(middle).length < 16384);
  t.equal(serialize(middle, false), plain(middle), 'a page of a few KB goes out as its text');
  t.equal(typeof serialize(page(['http://x/fhir/Patient/a'], [{ mode: 'match' }]), false), 'string');
});

t.test('entries made for a server base write fullUrl as JSON.stringify does, also when it needs escaping or was changed', async (t) => {
  const { storedEntryMaker } = await import('../../src/fhir/raw-json.js');
  for (const base of ['http://x/fhir', 'http://ex.org/ü"q\\/fhir']) {
    const make = storedEntryMaker(base);
    const entries = [make('Patient', 'a-1.b', stored, { mode: 'match' }), make('Patient', 'bad"id', stored, { mode: 'match' }), make('Condition', 'c', stored, { mode: 'include' })];
    entries[2].fullUrl = 'http://other/"x"';
    const b: Bundle = { resourceType: 'Bundle', type: 'searchset', entry: entries };
    t.equal(serializeJson(b, false), plain(b), base);
    t.same(JSON.parse(serializeJson(b, false)).entry.map((e: BundleEntry) => e.fullUrl), [`${base}/Patient/a-1.b`, `${base}/Patient/bad"id`, 'http://other/"x"']);
  }
});

t.test('a page whose entries are not its last member, or whose entry gained a member, is still written as JSON.stringify writes it', async (t) => {
  const make = storedEntryMaker('http://x/fhir');
  const entries = () => [make('Patient', 'a', stored, { mode: 'match' }), make('Patient', 'b', stored, { mode: 'include' })];
  const entryFirst = { resourceType: 'Bundle', entry: entries(), type: 'searchset', total: 2 } as Bundle;
  t.equal(serializeJson(entryFirst, false), plain(entryFirst), 'entry before other members: their order is kept');
  const gained = page(['http://x/fhir/Patient/a', 'http://x/fhir/Patient/b'], [{ mode: 'match' }, { mode: 'match' }]);
  (gained.entry![1] as BundleEntry).response = { status: '200' };
  const expected = JSON.stringify({ ...gained, entry: gained.entry!.map((e) => ({ fullUrl: e.fullUrl, resource: JSON.parse(stored), search: e.search, ...(e.response ? { response: e.response } : {}) })) });
  t.equal(serializeJson(gained, false), expected, 'an entry with a member added is written whole, with it');
  const onlyEntries = { resourceType: undefined, entry: entries() } as unknown as Bundle;
  t.equal(serializeJson(onlyEntries, false), JSON.stringify(onlyEntries), 'not a Bundle: JSON.stringify alone');
});
