import t from 'tap';
import { request } from 'undici';
import { startServer } from '../helpers/server.js';

// README, "Errors": "a URL that is not validly percent-encoded → 400". The router checks the path;
// the query string used to be decoded leniently (URLSearchParams), so `name=%zz` searched for the
// text "%zz" and `name=%C3%28` for U+FFFD, and a conditional write ran on a value the client never sent.
t.test('a query string that is not validly percent-encoded is a 400 OperationOutcome', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  for (const q of ['name=%zz', 'name=%', 'name=%E0%A4%A', 'name=%C3%28', 'na%zzme=x']) {
    const r = await request(`${srv.base}/Patient?${q}`);
    const body = (await r.body.json()) as { resourceType: string; issue: { code: string }[] };
    t.equal(r.statusCode, 400, q);
    t.equal(body.resourceType, 'OperationOutcome', q);
    t.equal(body.issue[0].code, 'invalid', q);
  }
  const cond = await request(`${srv.base}/Patient?identifier=urn:x%7C%E9`, {
    method: 'PUT',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Patient' }),
  });
  await cond.body.text();
  t.equal(cond.statusCode, 400, 'a conditional update on a mis-encoded value is refused, not run on U+FFFD');
  for (const q of ['name=%C3%A9', 'name=a+b', 'identifier=urn:x%7C1', '_count=1']) {
    const r = await request(`${srv.base}/Patient?${q}`);
    await r.body.text();
    t.equal(r.statusCode, 200, `valid: ${q}`);
  }
});
