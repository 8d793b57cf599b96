import t from 'tap';
import { configFromEnv } from '../../src/config.js';
import { fhir, startServer } from '../helpers/server.js';

// The validator options as server configuration (src/config.ts, README "Validation").

t.test('environment: PHI-server defaults, Java names accepted, bad values refused', async (t) => {
  t.same(configFromEnv({}).validationPolicies, { securityChecks: true, htmlInMarkdown: 'warning', contained: 'CHECK_VALID', references: 'IGNORE' });
  const set = configFromEnv({ VALIDATE_SECURITY_CHECKS: 'false', VALIDATE_HTML_IN_MARKDOWN: 'error', VALIDATE_CONTAINED: 'check_type', VALIDATE_REFERENCES: 'CHECK_TYPE_IF_EXISTS' });
  t.same(set.validationPolicies, { securityChecks: false, htmlInMarkdown: 'error', contained: 'CHECK_TYPE', references: 'CHECK_TYPE_IF_EXISTS' });
  t.throws(() => configFromEnv({ VALIDATE_HTML_IN_MARKDOWN: 'loud' }), /VALIDATE_HTML_IN_MARKDOWN must be one of none, warning, error/);
  // Existence needs the store, which validation does not read: refused rather than rejecting every reference to stored data.
  t.throws(() => configFromEnv({ VALIDATE_REFERENCES: 'CHECK_EXISTS' }), /VALIDATE_REFERENCES must be one of IGNORE, CHECK_TYPE_IF_EXISTS/);
});

t.test('the server refuses a string with an HTML tag by default, and stores it when security checks are off', async (t) => {
  const patient = { resourceType: 'Patient', name: [{ text: 'Jo <script>alert(1)</script>' }] };
  const strict = await startServer();
  t.teardown(() => strict.close());
  const refused = await fhir('POST', `${strict.base}/Patient`, patient);
  t.equal(refused.status, 422);
  t.equal(refused.body.issue[0].expression[0], 'Patient.name[0].text');
  t.match(refused.body.issue[0].diagnostics, /embedded HTML tags/);
  const plain = await fhir('POST', `${strict.base}/Patient`, { resourceType: 'Patient', name: [{ text: 'Jo <5 years>' }] });
  t.equal(plain.status, 201, "'<5 years>' is not a tag");

  const lax = await startServer({ validationPolicies: { ...strict.config.validationPolicies, securityChecks: false } });
  t.teardown(() => lax.close());
  t.equal((await fhir('POST', `${lax.base}/Patient`, patient)).status, 201);
});
