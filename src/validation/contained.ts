import { issue, type Issue } from './issues.js';

function collectLocalRefs(value: unknown, into: Set<string>): void {
  if (typeof value === 'string') {
    // canonical/uri/url values may point at a contained resource too ('#id').
    if (value.charCodeAt(0) === 35) into.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectLocalRefs(v, into);
    return;
  }
  if (typeof value === 'object' && value !== null) {
    for (const key in value) collectLocalRefs((value as Record<string, unknown>)[key], into);
  }
}

/**
 * dom-3, done natively (fhirpath.js cannot run the official expression): each contained resource
 * SHALL be referenced from elsewhere in the resource, or SHALL refer to the containing resource ('#').
 */
export function checkContainedReferenced(resource: Record<string, unknown>, path: string, issues: Issue[]): void {
  const contained = resource.contained;
  if (!Array.isArray(contained) || !contained.length) return;
  const refs = new Set<string>();
  collectLocalRefs(resource, refs);
  contained.forEach((c, i) => {
    const id = (c as { id?: unknown })?.id;
    if (typeof id !== 'string') return;
    if (refs.has(`#${id}`)) return;
    const own = new Set<string>();
    collectLocalRefs(c, own);
    if (own.has('#')) return;
    issues.push(
      issue('error', 'invariant', `${path}.contained[${i}]`, `Constraint failed: dom-3: 'If the resource is contained in another resource, it SHALL be referred to from elsewhere in the resource or SHALL refer to the containing resource' (contained id '${id}' is not referenced)`),
    );
  });
}
