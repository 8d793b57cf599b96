import type { Resource } from 'fhir/r4.js';
import { compartmentFilter, compartmentParams } from '../fhir/compartment-definitions.js';
import type { Filter, IndexValues } from '../store/port.js';

/**
 * Membership of single resources in compartments of one kind (Patient, Practitioner), from the
 * R4 CompartmentDefinition: the same rule as the compartment search (src/search/compartment.ts),
 * applied to one resource's index values for checks on reads and writes, and as one query filter
 * for the compartments of several owners at once (a practitioner's panel of patients).
 */
export class CompartmentMembers {
  private readonly params: ReadonlyMap<string, string[]>;

  constructor(readonly compartment: 'Patient' | 'Practitioner' | 'RelatedPerson' = 'Patient') {
    this.params = compartmentParams(compartment) ?? new Map();
  }

  /** Types that can be in a compartment of this kind. */
  isCompartmentType(type: string): boolean {
    return type === this.compartment || (this.params.get(type)?.length ?? 0) > 0;
  }

  paramsFor(type: string): string[] {
    return this.params.get(type) ?? [];
  }

  /** Whether the resource (with its index values) is in the compartment of `owner` (an id). */
  contains(resource: Resource, idx: IndexValues, owner: string): boolean {
    return this.containsAny(resource, idx, new Set([owner]));
  }

  /** Whether the resource is in the compartment of one of `owners` (ids). */
  containsAny(resource: Resource, idx: IndexValues, owners: ReadonlySet<string>): boolean {
    if (resource.resourceType === this.compartment) return owners.has(resource.id ?? '');
    const params = this.paramsFor(resource.resourceType);
    if (!params.length) return false;
    const prefix = `${this.compartment}/`;
    const refs = (idx.ref as Array<{ p?: string; r?: string }> | undefined) ?? [];
    return refs.some((e) => typeof e.r === 'string' && e.r.startsWith(prefix) && owners.has(e.r.slice(prefix.length)) && params.includes(String(e.p)));
  }

  /**
   * The owners (ids) of every compartment of this kind a resource is in, by the definition alone:
   * its own id for the compartment's type, and each owner one of its compartment parameters
   * references (a Patient through `link` too, as the compartment search reads it). `refs`: its
   * reference index entries ({p: parameter, r: reference}), a version's `idx.ref` or those of the
   * compartment's parameters alone (paramRefs). Writes check this whole set: a resource in one
   * allowed compartment may be in others as well.
   */
  owners(type: string, id: string | undefined, refs: unknown): Set<string> {
    const out = new Set<string>();
    if (type === this.compartment && id) out.add(id);
    const params = this.paramsFor(type);
    if (!params.length || !Array.isArray(refs)) return out;
    const prefix = `${this.compartment}/`;
    for (const e of refs as Array<{ p?: unknown; r?: unknown }>) {
      if (typeof e.r === 'string' && e.r.startsWith(prefix) && params.includes(String(e.p))) out.add(e.r.slice(prefix.length));
    }
    return out;
  }

  /** The reference entries of the compartment's parameters alone (`valuesOf` gives one parameter's), without indexing the whole resource. */
  paramRefs(resource: Resource, valuesOf: (r: Resource, code: string) => Array<Record<string, unknown>>): Array<Record<string, unknown>> {
    return this.paramsFor(resource.resourceType).flatMap((code) => valuesOf(resource, code).map((e) => ({ ...e, p: code })));
  }

  /** Query filter for resources of `type` in the compartment of any of `owners`; undefined when none can be. */
  filter(owners: readonly string[], type: string): Filter | undefined {
    return compartmentFilter(this.compartment, this.params, owners, type);
  }
}

/** Membership in Patient compartments (patient/ scopes, patient users, a practitioner's panel). */
export class PatientCompartment extends CompartmentMembers {
  constructor() {
    super('Patient');
  }
}

/**
 * Types outside the Patient compartment that patient/ scopes may read: shared reference data a
 * patient app needs to render its own record. Anything else outside the compartment stays hidden
 * from patient/ grants (e.g. Bundle, Binary, which may hold other patients' data).
 */
export const SHARED_TYPES = new Set([
  'Practitioner',
  'PractitionerRole',
  'Organization',
  'Location',
  'HealthcareService',
  'Endpoint',
  'Medication',
  'Substance',
  'ValueSet',
  'CodeSystem',
  'ConceptMap',
  'StructureDefinition',
  'Questionnaire',
  'PlanDefinition',
  'ActivityDefinition',
  'SearchParameter',
  'OperationDefinition',
  'CapabilityStatement',
]);
