import type { Resource } from 'fhir/r4.js';
import { PatientCompartment } from '../auth/patient-compartment.js';
import { badRequest, gone, notFound } from '../fhir/errors.js';
import { parseInstant } from '../rest/instant-param.js';
import type { Services } from '../rest/services.js';
import type { Operation } from './operation.js';
import { operationInputs } from './parameters-shape.js';

/**
 * Patient/[id]/$everything (operation-patient-everything.html): the patient, every resource in
 * its compartment and every resource those reference, as a searchset Bundle in pages. It is the
 * compartment search `Patient/[id]/*` with `_include=*`, run by the search engine: the same
 * access narrowing, keyset paging and total, with `_since` as `_lastUpdated=ge` and `_type` and
 * `_count` as they are; its links come back to $everything. Included resources that are in the
 * patient's compartment are left out (each is a match on some page), and so are those of types
 * `_type` does not name.
 * `start` and `end` (care dates) are refused: the spec leaves which date of each type they mean
 * to the server, and a filter we cannot state exactly is one we do not pretend to apply.
 */
export const patientEverythingOperation: Operation = {
  name: 'everything',
  definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
  types: ['Patient'],
  instanceLevel: true,
  methods: ['GET', 'POST'],
  async run(s, call) {
    const id = call.id!;
    const params: Array<[string, string]> = [];
    const once = new Set<string>();
    /** The types `_type` names: included resources of others are left out too. */
    let only: Set<string> | undefined;
    for (const [name, value, where] of operationInputs(call)) {
      if (once.has(name)) throw badRequest(`Parameter '${name}' may appear only once`, 'invalid', where);
      once.add(name);
      switch (name) {
        case '_since':
          parseInstant(value, '_since', where);
          params.push(['_lastUpdated', `ge${value}`]);
          break;
        case '_type':
          only = new Set(value.split(',').map((t) => t.trim()));
          params.push([name, value]);
          break;
        case '_count':
        case '_cursor': // from our own next/previous links
          params.push([name, value]);
          break;
        case 'start':
        case 'end':
          throw badRequest(`$everything does not support '${name}' (care dates): use _since, _type, or a search of the types you need with their own date parameters`, 'not-supported', where);
        default:
          throw badRequest(`Unknown parameter '${name.slice(0, 60)}' for $everything`, 'not-supported', where);
      }
    }
    const patient = await s.store.read('Patient', id);
    if (!patient) throw notFound(`Patient/${id} is not known to this server`);
    if (patient.deleted) throw gone(`Patient/${id} has been deleted`);
    params.push(['_include', '*']);
    const path = `Patient/${id}/$everything`;
    const body = await s.search.search(s.store, { types: [], params, path, compartment: { type: 'Patient', id } });
    body.entry = body.entry?.filter((e) => e.search?.mode !== 'include' || (e.resource !== undefined && (!only || only.has(e.resource.resourceType)) && !inCompartment(s, e.resource, id)));
    for (const link of body.link ?? []) link.url = everythingLink(link.url);
    return { status: 200, body };
  },
};

const members = new PatientCompartment();

/** Whether a resource is in Patient/{id}'s compartment, by the CompartmentDefinition as the compartment search reads it. */
function inCompartment(s: Services, r: Resource, id: string): boolean {
  return members.owners(r.resourceType, r.id, members.paramRefs(r, s.search.valuesOf)).has(id);
}

/** An engine link (the search's own parameters) as the $everything call that pages on. */
function everythingLink(url: string): string {
  const i = url.indexOf('?');
  if (i < 0) return url;
  const out = new URLSearchParams();
  for (const [k, v] of new URLSearchParams(url.slice(i + 1))) {
    if (k === '_include' && v === '*') continue;
    if (k === '_lastUpdated' && v.startsWith('ge')) out.append('_since', v.slice(2));
    else out.append(k, v);
  }
  const q = out.toString();
  return q ? `${url.slice(0, i)}?${q}` : url.slice(0, i);
}

