// $ccm-eligibility (OperationDefinition ccm-eligibility): Patient/{id}/$ccm-eligibility and
// Patient/$ccm-eligibility (one `patient` part per patient with a qualifying chronic condition, paged).
import type { Parameters, ParametersParameter } from 'fhir/r4.js';
import { eligibilityParameters, eligibilityParts, evaluateEligibility, patientPart } from '../ccm/index.js';
import type { RestResult } from '../rest/result.js';
import type { Services } from '../rest/services.js';
import { ccmGuard, checkMonth, DEFAULT_PAGE_SIZE, existingFactsOf, nextParameter, pageOver, readInput, today } from './ccm-common.js';
import { candidatePatients, CONDITION_SOURCES } from './ccm-candidates.js';
import { ccmOptions, patientFacts } from './ccm-facts-source.js';
import type { Operation, OperationCall } from './operation.js';

export const CCM_ELIGIBILITY_DEFINITION = 'https://ccm-fhir.org/fhir/OperationDefinition/ccm-eligibility';

const INSTANCE_PARAMS = new Set(['month']);
const TYPE_PARAMS = new Set(['month', '_count', '_page']);

/** Eligibility of one patient-month as the instance-level Parameters. */
export async function eligibilityOf(s: Services, patientId: string, month: string): Promise<Parameters> {
  const { facts, sources } = await ccmGuard(() => patientFacts(s, patientId, month), `Patient/${patientId}`);
  return ccmGuard(() => eligibilityParameters(evaluateEligibility(facts, ccmOptions(s)), sources), `Patient/${patientId}`);
}

async function typeLevel(s: Services, call: OperationCall): Promise<RestResult> {
  const input = readInput(call, TYPE_PARAMS);
  const month = checkMonth(s, input.month, today());
  const page = await pageOver(
    (after) => candidatePatients(s, CONDITION_SOURCES, after),
    input.count ?? DEFAULT_PAGE_SIZE,
    input.page,
    async (ids) => {
      const opts = ccmOptions(s);
      const parts: Array<ParametersParameter | undefined> = [];
      for (const found of await existingFactsOf(s, ids, month)) {
        const result = found && (await ccmGuard(() => evaluateEligibility(found.facts, opts), found.sources.patient));
        parts.push(found && result?.conditions.length ? patientPart(found.sources.patient, eligibilityParts(result, found.sources)) : undefined);
      }
      return parts;
    },
  );
  const parameter: ParametersParameter[] = [{ name: 'month', valueString: month }, ...page.items];
  if (page.next) parameter.push(nextParameter(s, 'Patient/$ccm-eligibility', [...call.query.filter(([k]) => k !== 'month'), ['month', month]], page.next));
  const body: Parameters = { resourceType: 'Parameters', parameter };
  return { status: 200, body };
}

export const ccmEligibilityOperation: Operation = {
  name: 'ccm-eligibility',
  definition: CCM_ELIGIBILITY_DEFINITION,
  types: ['Patient'],
  typeLevel: true,
  instanceLevel: true,
  methods: ['GET', 'POST'],
  async run(s, call): Promise<RestResult> {
    if (call.id === undefined) return typeLevel(s, call);
    const input = readInput(call, INSTANCE_PARAMS);
    const month = checkMonth(s, input.month, today());
    return { status: 200, body: await eligibilityOf(s, call.id, month) };
  },
};
