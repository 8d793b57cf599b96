// The store filter the search engine compiles for a type and search parameters, so that the CCM
// operations can ask the store directly (find without a page limit, distinct) with exactly the
// semantics of a FHIR search, without building search Bundles.
import type { Services } from '../rest/services.js';
import type { Filter } from '../store/port.js';

/** The filter of `type?params`, compiled against the services' store. */
export function compiledFilter(s: Services, type: string, params: Array<[string, string]>): Promise<Filter> {
  return s.search.filterFor(s.store, type, params);
}
