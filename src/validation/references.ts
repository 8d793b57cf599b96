/**
 * Reference resolution without a fetch: what a reference can reach inside the content being
 * validated. The Java validator resolves a reference in the resource's own contained resources
 * and in the Bundle (by fullUrl) or Parameters (other parameter resources) it sits in; this
 * validator does the same, and has no server to ask for the rest.
 */

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const HISTORY = /\/_history\/[^/]+$/;
/** A relative literal reference: `Patient/123`. */
const RELATIVE = /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/;

/** The resources of one Bundle or Parameters, by fullUrl and by `Type/id`. */
export class LocalTargets {
  private readonly byKey = new Map<string, Json>();

  constructor(grouping: Json) {
    if (grouping.resourceType === 'Bundle' && Array.isArray(grouping.entry)) {
      for (const e of grouping.entry) {
        if (!isObject(e) || !isObject(e.resource)) continue;
        if (typeof e.fullUrl === 'string') this.byKey.set(e.fullUrl, e.resource);
        this.addById(e.resource);
      }
    } else if (grouping.resourceType === 'Parameters') {
      this.addParameters(grouping.parameter);
    }
  }

  private addById(r: Json): void {
    if (typeof r.resourceType === 'string' && typeof r.id === 'string') {
      const key = `${r.resourceType}/${r.id}`;
      if (!this.byKey.has(key)) this.byKey.set(key, r);
    }
  }

  private addParameters(params: unknown): void {
    if (!Array.isArray(params)) return;
    for (const p of params) {
      if (!isObject(p)) continue;
      if (isObject(p.resource)) this.addById(p.resource);
      this.addParameters(p.part);
    }
  }

  /** The resource a (non-'#') reference names here, if it is here. */
  find(reference: string): Json | undefined {
    const ref = reference.replace(HISTORY, '');
    return this.byKey.get(ref);
  }
}

/**
 * References this validator judges when they do not resolve here: relative ones (it has no server
 * to ask) and `urn:uuid:`/`urn:oid:` (only a Bundle can give them meaning). Absolute URLs point at
 * other servers and are left alone.
 */
export function mustResolveLocally(reference: string): boolean {
  const ref = reference.replace(HISTORY, '');
  return RELATIVE.test(ref) || ref.startsWith('urn:uuid:') || ref.startsWith('urn:oid:');
}
