import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CompartmentDefinition, Resource } from 'fhir/r4.js';
import { r4PackageDir } from '../fhir/package-dir.js';
import type { IndexValues } from '../store/port.js';

/**
 * Membership of single resources in a Patient compartment, from the R4 CompartmentDefinition:
 * the same rule as the compartment search (src/search/compartment.ts), applied to one resource's
 * index values, for checks on reads and writes.
 */
export class PatientCompartment {
  private readonly params: Map<string, string[]>;

  constructor() {
    const file = join(r4PackageDir(), 'CompartmentDefinition-patient.json');
    const def = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as CompartmentDefinition) : { resource: [] };
    this.params = new Map((def.resource ?? []).map((r) => [r.code, (r.param ?? []).filter((p) => p !== '{def}')]));
  }

  /** Types that can be in a Patient compartment. */
  isCompartmentType(type: string): boolean {
    return type === 'Patient' || (this.params.get(type)?.length ?? 0) > 0;
  }

  paramsFor(type: string): string[] {
    return this.params.get(type) ?? [];
  }

  /** Whether the resource (with its index values) is in Patient/{patient}'s compartment. */
  contains(resource: Resource, idx: IndexValues, patient: string): boolean {
    if (resource.resourceType === 'Patient') return resource.id === patient;
    const params = this.paramsFor(resource.resourceType);
    if (!params.length) return false;
    const ref = `Patient/${patient}`;
    const refs = (idx.ref as Array<{ p?: string; r?: string }> | undefined) ?? [];
    return refs.some((e) => e.r === ref && params.includes(String(e.p)));
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
