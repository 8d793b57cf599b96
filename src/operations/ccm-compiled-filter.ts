// The store filter the search engine compiles for a type and search parameters, so that the CCM
// operations can ask the store directly (find without a page limit, distinct) with exactly the
// semantics of a FHIR search, without building search Bundles.
import type { Services } from '../rest/services.js';
import type { Filter } from '../store/port.js';

/** The filter of `type?params` (findMatches compiles it and hands it to the reader's find, captured here). */
export async function compiledFilter(s: Services, type: string, params: Array<[string, string]>): Promise<Filter> {
  let filter: Filter | undefined;
  await s.search.findMatches(
    {
      find: async (q) => {
        filter = q.filter;
        return [];
      },
    },
    type,
    params,
  );
  if (!filter) throw new Error(`no filter compiled for ${type}`);
  return filter;
}
