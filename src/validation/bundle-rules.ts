import { issue, type Issue } from './issues.js';

/** Paging relations that a Bundle may carry at most once each. */
const SINGLE_RELATIONS = new Set(['self', 'first', 'previous', 'prev', 'next', 'last']);
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * Bundle rules that live in the spec's prose rather than in constraints:
 * fullUrl is an absolute URI (Bundle.entry.fullUrl definition) and each paging link appears once.
 */
export function checkBundle(bundle: Record<string, unknown>, path: string, issues: Issue[]): void {
  if (Array.isArray(bundle.entry)) {
    bundle.entry.forEach((e, i) => {
      const fullUrl = (e as { fullUrl?: unknown })?.fullUrl;
      if (typeof fullUrl === 'string' && !ABSOLUTE_URI.test(fullUrl))
        issues.push(issue('error', 'invalid', `${path}.entry[${i}].fullUrl`, `The fullUrl must be an absolute URL (not '${fullUrl}')`));
    });
  }
  if (Array.isArray(bundle.link)) {
    const seen = new Set<string>();
    bundle.link.forEach((l, i) => {
      const relation = (l as { relation?: unknown })?.relation;
      if (typeof relation !== 'string' || !SINGLE_RELATIONS.has(relation)) return;
      if (seen.has(relation))
        issues.push(issue('error', 'invalid', `${path}.link[${i}]`, `The link relationship type '${relation}' can only occur once`));
      seen.add(relation);
    });
  }
}
