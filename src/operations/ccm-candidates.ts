// Candidate patients of the CCM operations over all patients (system-level billing, type-level
// eligibility, worklist): the patients some resource points to, read from the reference index
// values through the store's `distinct`, without reading resources. They come in id order, a
// chunk at a time from a cursor, so a page costs its own chunk and a month over all patients
// is one pass over the candidates, not one per page.
import { CHARGE_IDENTIFIER_SYSTEM, CM_SYSTEM } from '../ccm/index.js';
import type { Services } from '../rest/services.js';
import type { DistinctQuery } from '../store/port.js';

/** Resources of `type` matching `params` whose `param` reference points at the patient. */
export interface CandidateSource {
  type: string;
  params: Array<[string, string]>;
  /** A reference search parameter of `type` (its index elements are `{ p: param, r: 'Type/id' }` under `idx.ref`). */
  param: string;
}

const PATIENT = 'Patient/';
/** Values fetched from the store per call and source. */
const CHUNK = 500;

/**
 * Ids of the patients the sources point to, ascending, each once, starting after `after`.
 * Several sources are merged as they stream.
 */
export async function* candidatePatients(s: Services, sources: readonly CandidateSource[], after?: string): AsyncGenerator<string> {
  const streams = await Promise.all(
    sources.map(async (src) => ({
      query: {
        types: [src.type],
        filter: await s.search.filterFor(s.store, src.type, src.params),
        field: 'idx.ref',
        where: { p: src.param },
        key: 'r',
        prefix: PATIENT,
        limit: CHUNK,
      } satisfies DistinctQuery,
      cursor: after === undefined ? undefined : PATIENT + after,
      values: [] as string[],
      at: 0,
      done: false,
    })),
  );
  for (;;) {
    for (const st of streams) {
      if (st.at < st.values.length || st.done) continue;
      st.values = await s.store.distinct({ ...st.query, after: st.cursor });
      st.at = 0;
      st.done = st.values.length < CHUNK;
      if (st.values.length) st.cursor = st.values[st.values.length - 1];
    }
    let next: string | undefined;
    for (const st of streams) if (st.at < st.values.length && (next === undefined || st.values[st.at] < next)) next = st.values[st.at];
    if (next === undefined) return;
    for (const st of streams) if (st.values[st.at] === next) st.at++;
    yield next.slice(PATIENT.length);
  }
}

/** Patients with a Condition (eligibility and worklist candidates). */
export const CONDITION_SOURCES: readonly CandidateSource[] = [{ type: 'Condition', params: [], param: 'subject' }];

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Patients with care-management time that may fall in `month` or with a CCM consent (system-level
 * billing candidates). A time entry belongs to the practice-local date it starts on, and local
 * offsets stay within a day of UTC, so entries overlapping the month widened by a day each side
 * are a superset; the engine decides exactly.
 */
export function billingSources(month: string): CandidateSource[] {
  const [y, m] = month.split('-').map(Number);
  const from = isoDay(Date.UTC(y, m - 1, 0));
  const to = isoDay(Date.UTC(y, m, 1));
  return [
    { type: 'Encounter', params: [['type', `${CM_SYSTEM}|care-management-time`], ['date', `ge${from}`], ['date', `le${to}`]], param: 'subject' },
    { type: 'Consent', params: [['category', `${CM_SYSTEM}|ccm-consent`]], param: 'patient' },
  ];
}

/**
 * Patients with a ChargeItem this server wrote for `month` (its identifier system is ours, its
 * occurrencePeriod the month). A persisting run over all patients re-checks them too: one who no
 * longer has care-management time or a consent would otherwise keep a stale billable charge.
 */
export function chargedSources(month: string): CandidateSource[] {
  return [{ type: 'ChargeItem', params: [['identifier', `${CHARGE_IDENTIFIER_SYSTEM}|`], ['occurrence', month]], param: 'subject' }];
}
