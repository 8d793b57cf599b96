// $ccm-worklist (OperationDefinition ccm-worklist): [base]/$ccm-worklist, at system level only, as the definition says.
// One row per patient with a qualifying chronic condition, in worklist order (sortWorklist), paged
// by position in that order; `practitioner` keeps the rows of one billing practitioner.
import type { Parameters } from 'fhir/r4.js';
import { evaluateEligibility, sortWorklist, worklistParameters, worklistRow, type WorklistRow } from '../ccm/index.js';
import { badRequest } from '../fhir/errors.js';
import type { RestResult } from '../rest/result.js';
import type { Services } from '../rest/services.js';
import { ccmGuard, checkMonth, chunksOf, decodePage, DEFAULT_PAGE_SIZE, encodePage, existingFactsOf, nextParameter, readInput, today } from './ccm-common.js';
import { candidatePatients, CONDITION_SOURCES } from './ccm-candidates.js';
import { ccmOptions } from './ccm-facts-source.js';
import type { Operation } from './operation.js';

export const CCM_WORKLIST_DEFINITION = 'https://ccm-fhir.org/fhir/OperationDefinition/ccm-worklist';

const PARAMS = new Set(['month', 'practitioner', '_count', '_page']);
/** Patients per page of the worklist pass (their resources are read READ_CHUNK at a time, see ccm-common.ts). */
const CHUNK = 100;

/** All rows of the month, sorted; `todayDate` is the practice's local date. */
export async function worklistRows(s: Services, month: string, todayDate: string, practitioner?: string): Promise<WorklistRow[]> {
  const rows: WorklistRow[] = [];
  const opts = ccmOptions(s);
  // Resources are read a chunk of patients at a time; only the (small) rows are kept, as the
  // worklist order needs all of them.
  for await (const ids of chunksOf(candidatePatients(s, CONDITION_SOURCES), CHUNK)) {
    for (const found of await existingFactsOf(s, ids, month)) {
      if (!found) continue;
      const { facts, sources } = found;
      const row = await ccmGuard(() => {
        if (evaluateEligibility(facts, opts).conditions.length === 0) return undefined;
        return worklistRow(facts, todayDate, { ...opts, patient: sources.patient });
      }, sources.patient);
      if (!row) continue;
      if (practitioner !== undefined && row.billingPractitioner !== practitioner) continue;
      rows.push(row);
    }
  }
  return sortWorklist(rows);
}

export const ccmWorklistOperation: Operation = {
  name: 'ccm-worklist',
  definition: CCM_WORKLIST_DEFINITION,
  // System level only, as OperationDefinition-ccm-worklist.json declares (system true, type and instance false).
  system: true,
  types: [],
  methods: ['GET'],
  async run(s, call): Promise<RestResult> {
    const input = readInput(call, PARAMS);
    const todayDate = today();
    const month = checkMonth(s, input.month, todayDate);
    const rows = await worklistRows(s, month, todayDate, input.practitioner);
    const count = input.count ?? DEFAULT_PAGE_SIZE;
    let start = 0;
    if (input.page !== undefined) {
      const offset = decodePage(input.page);
      if (!/^\d{1,9}$/.test(offset)) throw badRequest('_page is not a page token this server issued', 'value', '_page');
      start = Number(offset);
    }
    const body: Parameters = worklistParameters(month, rows.slice(start, start + count));
    if (start + count < rows.length) {
      const query: Array<[string, string]> = [...call.query.filter(([k]) => k !== 'month'), ['month', month]];
      body.parameter!.push(nextParameter(s, '$ccm-worklist', query, encodePage(String(start + count))));
    }
    return { status: 200, body };
  },
};
