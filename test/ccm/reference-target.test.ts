// referenceTarget: the `Type/id` a reference points at, in the forms R4 Reference.reference takes
// (relative, absolute URL, version-specific), and null for the rest (contained, urn:, malformed).
import t from 'tap';
import { referenceTarget } from '../../src/ccm/facts-from-fhir.js';

const target = (reference: string | undefined) => referenceTarget(reference === undefined ? undefined : { reference });

t.test('the forms a reference is written in', async (t) => {
  t.equal(target('Patient/pat1'), 'Patient/pat1');
  t.equal(target('Patient/A-1.b'), 'Patient/A-1.b');
  t.equal(target('https://ehr.example/fhir/Patient/pat1'), 'Patient/pat1', 'absolute URL');
  t.equal(target('Patient/pat1/_history/3'), 'Patient/pat1', 'versioned');
  t.equal(target('/Patient/pat1'), 'Patient/pat1');
  t.equal(target(`Patient/${'a'.repeat(64)}`), `Patient/${'a'.repeat(64)}`, 'a 64-character id');
  for (const no of ['', 'pat1', 'Patient/', 'patient/pat1', 'P/pat1', 'Pat1ent/x', 'Patient/a_b', 'Patient/a b', `Patient/${'a'.repeat(65)}`, 'Patient/pat1/', '#contained', 'urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427']) {
    t.equal(target(no), null, JSON.stringify(no));
  }
  t.equal(referenceTarget(undefined), null);
  t.equal(referenceTarget({ display: 'no reference' }), null);
});
