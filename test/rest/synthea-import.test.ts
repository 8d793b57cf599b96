import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fhir, sharedData, startServer } from '../helpers/server.js';
import { requires } from '../helpers/capabilities.js';

const data = sharedData();

/** The client's view of what it sent, with its urn:uuid references replaced by the ids the server assigned. */
function expected(resource: any, map: Map<string, string>): any {
  const walk = (n: any): any => {
    if (typeof n === 'string') return map.get(n) ?? n;
    if (Array.isArray(n)) return n.map(walk);
    if (n && typeof n === 'object') return Object.fromEntries(Object.entries(n).map(([k, v]) => [k, walk(v)]));
    return n;
  };
  return withoutServerFields(walk(resource));
}

const withoutServerFields = (r: any) => {
  const { id: _id, meta, ...rest } = r;
  const { versionId: _v, lastUpdated: _l, ...m } = meta ?? {};
  return Object.keys(m).length ? { ...rest, meta: m } : rest;
};

t.test('all 70 Synthea bundles load as transactions and read back equal', { skip: (!data && 'shared data absent') || (await requires('transactions', 'each bundle is a transaction writing hundreds of resources')).skip }, async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  let resources = 0;
  let mismatches = 0;
  for (const set of ['synthea', 'synthea-2']) {
    const dir = join(data!, set, 'bundles');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
      const bundle = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      const res = await fhir('POST', srv.base, bundle);
      if (res.status !== 200) {
        t.fail(`${set}/${file}: ${res.status} ${JSON.stringify(res.body?.issue?.slice(0, 3))}`);
        continue;
      }
      const map = new Map<string, string>();
      bundle.entry.forEach((e: any, i: number) => {
        const loc = res.body.entry[i].response.location as string;
        map.set(e.fullUrl, loc.split('/_history')[0]);
      });
      for (const [i, e] of bundle.entry.entries()) {
        const loc = map.get(e.fullUrl)!;
        const got = await fhir('GET', `${srv.base}/${loc}`);
        resources++;
        const want = expected(e.resource, map);
        if (got.status !== 200 || JSON.stringify(sortKeys(withoutServerFields(got.body))) !== JSON.stringify(sortKeys(want))) {
          mismatches++;
          if (mismatches < 5) t.fail(`${set}/${file} entry ${i} (${loc}) differs after the round trip`);
        }
      }
    }
  }
  t.ok(resources > 18000, `${resources} resources loaded and read back`);
  t.equal(mismatches, 0, 'every resource read back equal');
});

function sortKeys(n: any): any {
  if (Array.isArray(n)) return n.map(sortKeys);
  if (n && typeof n === 'object') return Object.fromEntries(Object.keys(n).sort().map((k) => [k, sortKeys(n[k])]));
  return n;
}
