import t from 'tap';
import type { Resource } from 'fhir/r4.js';
import { loadDefinitions } from '../../src/fhir/definitions.js';
import { ElementFilter } from '../../src/search/summary.js';

const filter = new ElementFilter(loadDefinitions().resourceDefinitions);
const summary = (r: object) => filter.apply(r as Resource, 'true', undefined) as unknown as Record<string, any>;

t.test('_summary=true keeps summary elements at every level (search.html#summary)', async (t) => {
  const bp = summary({
    resourceType: 'Observation',
    id: 'bp',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }], text: 'Blood pressure' },
    note: [{ text: 'not a summary element' }],
    component: [
      {
        id: 'c1',
        code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] },
        valueQuantity: { value: 107, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
        interpretation: [{ text: 'normal' }],
        referenceRange: [{ text: '90-120' }],
      },
      { code: { text: 'diastolic' }, dataAbsentReason: { text: 'cuff failed' } },
    ],
  });
  t.same(bp.code, { coding: [{ system: 'http://loinc.org', code: '85354-9' }], text: 'Blood pressure' }, 'a datatype value whole');
  t.equal(bp.note, undefined);
  t.same(bp.component, [
    { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 107, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
    { code: { text: 'diastolic' } },
  ], 'component keeps code and value[x]; interpretation, referenceRange, dataAbsentReason and id are no summary elements');
  t.ok(bp.meta.tag.some((x: { code: string }) => x.code === 'SUBSETTED'));

  const doc = summary({
    resourceType: 'DocumentReference',
    status: 'current',
    content: [{ attachment: { contentType: 'application/pdf', data: 'JVBERi0=', title: 'plan', _data: { extension: [] } }, format: { code: 'urn:x' } }],
  });
  t.same(doc.content, [{ attachment: { contentType: 'application/pdf', title: 'plan' }, format: { code: 'urn:x' } }], 'Attachment.data is left out ("other than Attachment.data")');

  // Nested backbones: Consent.provision is a summary element; its actor is not, nor is the provision it nests (a contentReference).
  const consent = summary({
    resourceType: 'Consent',
    status: 'active',
    provision: { type: 'permit', actor: [{ reference: { reference: 'Practitioner/x' } }], data: [{ meaning: 'related', reference: { reference: 'Condition/c' } }], provision: [{ type: 'deny' }] },
  });
  t.same(consent.provision, { type: 'permit', data: [{ meaning: 'related', reference: { reference: 'Condition/c' } }] });
  const p = summary({ resourceType: 'Patient', id: 'p', gender: 'female', _gender: { id: 'g' }, contact: [{ name: { family: 'X' } }], communication: [{ language: { text: 'en' } }] });
  t.same(Object.keys(p).sort(), ['_gender', 'gender', 'id', 'meta', 'resourceType'], 'a backbone that is no summary element is left out whole');
});
