import type { Parameters } from 'fhir/r4.js';
import { badRequest } from '../fhir/errors.js';
import { FHIR_VERSION } from '../fhir/fhir-version.js';
import type { Operation } from './operation.js';

/**
 * $versions (capabilitystatement-operation-versions.html): the FHIR versions this endpoint
 * speaks and the one it uses when a request names none. One, R4, both times.
 */
export const versionsOperation: Operation = {
  name: 'versions',
  definition: 'http://hl7.org/fhir/OperationDefinition/CapabilityStatement-versions',
  system: true,
  types: [],
  methods: ['GET', 'POST'],
  async run(_s, call) {
    if (call.query.length) throw badRequest(`$versions takes no parameters (got '${call.query[0][0].slice(0, 60)}')`, 'not-supported');
    const body: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'version', valueCode: FHIR_VERSION },
        { name: 'default', valueCode: FHIR_VERSION },
      ],
    };
    return { status: 200, body };
  },
};
