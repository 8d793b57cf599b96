import { isAbsoluteUri } from '../fhir/absolute-uri.js';
import { issue, type Issue } from './issues.js';

/** Paging relations that a Bundle may carry at most once each. */
const SINGLE_RELATIONS = new Set(['self', 'first', 'previous', 'prev', 'next', 'last']);

/** A RESTful resource URL: optional base, then Type/id, perhaps with a version (the Java validator's pattern). */
const RESTFUL = /^(?:https?:\/\/(?:[A-Za-z0-9\-.:%$]*\/)+)?([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/**
 * Bundle rules that live in the spec's prose rather than in constraints: fullUrl is an absolute
 * URI, and one that looks RESTful "SHALL NOT disagree with the id in the resource" (both from the
 * Bundle.entry.fullUrl definition: it ends with the resource's own Type/id, no version), and
 * each paging link appears once. `isResourceType` tells a RESTful URL from any other.
 */
export function checkBundle(bundle: Record<string, unknown>, path: string, issues: Issue[], isResourceType: (type: string) => boolean): void {
  if (Array.isArray(bundle.entry)) {
    bundle.entry.forEach((e, i) => {
      if (!isRecord(e) || typeof e.fullUrl !== 'string') return;
      const fullUrl = e.fullUrl;
      const at = `${path}.entry[${i}]`;
      if (!isAbsoluteUri(fullUrl)) {
        issues.push(issue('error', 'invalid', `${at}.fullUrl`, `The fullUrl must be an absolute URL (not '${fullUrl}')`));
        return;
      }
      const resource = e.resource;
      const restful = RESTFUL.exec(fullUrl);
      if (!isRecord(resource) || typeof resource.resourceType !== 'string' || !restful || !isResourceType(restful[1])) return;
      const shown = fullUrl.slice(0, 200);
      if (typeof resource.id !== 'string')
        issues.push(issue('error', 'invalid', `${at}.fullUrl`, `The fullUrl '${shown}' looks like a RESTful server URL, so the resource must have an id`));
      else if (!fullUrl.endsWith(`/${resource.resourceType}/${resource.id}`))
        issues.push(issue('error', 'invalid', `${at}.fullUrl`, `The fullUrl '${shown}' looks like a RESTful server URL, so it must end with the resource's type and id (/${resource.resourceType}/${resource.id})`));
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

interface Target {
  fullUrl: string;
  versionId?: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Calls back for each Reference.reference string under a value, with its JSON pointer. */
function eachReference(value: unknown, pointer: string, fn: (ref: string, pointer: string) => void): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => eachReference(v, `${pointer}/${i}`, fn));
    return;
  }
  if (!isRecord(value)) return;
  if (typeof value.reference === 'string') fn(value.reference, pointer);
  for (const key in value) {
    if (key === 'contained') continue;
    const v = value[key];
    if (typeof v === 'object' && v !== null) eachReference(v, `${pointer}/${key}`, fn);
  }
}

/**
 * A document Bundle is self-contained: every relative or urn: reference in it must resolve to
 * exactly one entry (the Bundle page: "resolving references in Bundles"), a versioned one to that version.
 * `toPath(type, pointer)` turns an entry-relative JSON pointer into a FHIRPath expression.
 */
export function checkDocumentReferences(
  bundle: Record<string, unknown>,
  path: string,
  toPath: (type: string, pointer: string) => string,
  issues: Issue[],
): void {
  if (bundle.type !== 'document' || !Array.isArray(bundle.entry)) return;
  const targets: Target[] = [];
  for (const e of bundle.entry) {
    if (!isRecord(e) || typeof e.fullUrl !== 'string') continue;
    const meta = isRecord(e.resource) && isRecord(e.resource.meta) ? e.resource.meta : undefined;
    targets.push({ fullUrl: e.fullUrl, versionId: typeof meta?.versionId === 'string' ? meta.versionId : undefined });
  }
  bundle.entry.forEach((e, i) => {
    if (!isRecord(e) || !isRecord(e.resource) || typeof e.resource.resourceType !== 'string') return;
    const type = e.resource.resourceType;
    const restful = typeof e.fullUrl === 'string' ? /^(.*\/)[A-Z][A-Za-z]+\/[^/]+$/.exec(e.fullUrl) : null;
    const base = restful ? restful[1] : '';
    eachReference(e.resource, '', (ref, pointer) => {
      if (ref.startsWith('#')) return;
      const m = /^(.*?)(?:\/_history\/([^/]+))?$/.exec(ref) as RegExpExecArray;
      const absolute = isAbsoluteUri(m[1]);
      // A relative reference from an entry with a urn: fullUrl has no base: match it by its Type/id tail.
      const matchesUrl = absolute || base ? (u: string) => u === (absolute ? m[1] : base + m[1]) : (u: string) => u.endsWith(`/${m[1]}`);
      // Absolute http(s) references outside the bundle may point at servers, and so may relative ones
      // without a base: only urn: references and relative ones from RESTful entries must resolve here.
      const mustResolve = ref.startsWith('urn:') || (!absolute && base !== '');
      const matches = targets.filter((t) => matchesUrl(t.fullUrl) && (m[2] === undefined || t.versionId === m[2]));
      const at = `${path}.entry[${i}].resource${toPath(type, pointer).slice(type.length)}`;
      if (matches.length === 0 && mustResolve)
        issues.push(issue('error', 'not-found', at, `Can't find '${ref}' in the document bundle`));
      else if (matches.length > 1)
        issues.push(issue('error', 'invalid', at, `Found ${matches.length} matches for '${ref}' in the document bundle: reference a version`));
    });
  });
}
