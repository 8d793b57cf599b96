// REST conformance (http.html, json.html, RFC 9110) over the real server: the findings of the REST audit.
import t from 'tap';
import { fhir, startServer } from '../helpers/server.js';

t.test('REST conformance', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const B = srv.base;

  t.test('an empty transaction or batch answers without an entry array (json.html: arrays are never empty)', async (t) => {
    for (const [type, body] of [
      ['transaction', { resourceType: 'Bundle', type: 'transaction' }],
      ['batch', { resourceType: 'Bundle', type: 'batch', entry: [] }],
    ] as const) {
      const r = await fhir('POST', B, body);
      t.equal(r.status, 200, type);
      t.strictSame(r.body, { resourceType: 'Bundle', type: `${type}-response` }, `${type}: no entry`);
      t.notMatch(r.text, /"entry"/);
      const check = await fhir('POST', `${B}/Bundle/$validate`, r.body);
      t.notOk(
        (check.body.issue as Array<{ severity: string }>).some((i) => i.severity === 'error'),
        `${type}-response passes the server's own $validate`,
      );
    }
    const audit = await fhir('GET', `${B}/AuditEvent?patient=Patient/nobody-at-all`);
    t.equal(audit.status, 200);
    t.equal(audit.body.total, 0);
    t.notOk('entry' in audit.body, 'an AuditEvent search page with no events has no entry');
  });
});
