import type { Resource } from 'fhir/r4.js';
import { FhirError } from '../fhir/errors.js';
import type { SearchService } from '../rest/services.js';
import { Compartments } from '../search/compartment.js';
import type { Filter, StoredVersion, StoreTx } from '../store/port.js';
import type { AuthContext } from './context.js';
import { PatientCompartment, SHARED_TYPES } from './patient-compartment.js';
import { grantsFor, readGrants, type Grant, type Perm } from './scopes.js';

export const forbidden = (diagnostics: string) => FhirError.of(403, 'forbidden', diagnostics);

type Reader = { find: StoreTx['find'] };

/** How a grant reaches resources of one type: all of them, those in the patient's compartment, or none. */
type Reach = 'all' | 'compartment' | 'none';

interface TypeAccess {
  visible: boolean;
  /** Compartment filter to add to queries; undefined = no narrowing. */
  narrowing?: Filter;
  /** Rows found with the narrowing need no further check (an unrestricted grant covers them). */
  exact: boolean;
  grants: Array<{ g: Grant; reach: Reach }>;
}

/**
 * What one access token may see and change: the data view behind every interaction, used by
 * the guarded store (src/auth/guarded-store.ts). patient/ grants reach the patient's compartment
 * and shared reference types (read only); v2 query restrictions are checked against the store.
 */
export class AccessPolicy {
  private readonly cache = new Map<string, TypeAccess>();
  private readonly compartments = new Compartments();

  constructor(
    readonly ctx: AuthContext,
    private readonly comp: PatientCompartment,
    private readonly search: SearchService,
  ) {
    this.seesEverything = ctx.grants.some((g) => g.context !== 'patient' && g.type === '*' && !g.params && (g.perms.has('r') || g.perms.has('s')));
  }

  /** A system/ or user/ `*` read grant: reads need no narrowing or checks. */
  readonly seesEverything: boolean;

  private reach(g: Grant, type: string, write: boolean): Reach {
    if (g.context !== 'patient') return 'all';
    if (this.comp.isCompartmentType(type)) return 'compartment';
    return !write && SHARED_TYPES.has(type) ? 'all' : 'none';
  }

  typeAccess(type: string): TypeAccess {
    const hit = this.cache.get(type);
    if (hit) return hit;
    const grants = readGrants(this.ctx.grants, type)
      .map((g) => ({ g, reach: this.reach(g, type, false) }))
      .filter((x) => x.reach !== 'none');
    const open = grants.some((x) => x.reach === 'all');
    const a: TypeAccess = {
      visible: grants.length > 0,
      narrowing: grants.length && !open && this.ctx.patient ? this.compartments.filter('Patient', this.ctx.patient, type) : undefined,
      // Exact when an unrestricted grant reaches at least as far as the narrowing.
      exact: grants.some((x) => !x.g.params && (x.reach === 'all' || !open)),
      grants,
    };
    this.cache.set(type, a);
    return a;
  }

  /** Whether the token may perform `perm` on some resources of `type` (interaction-level check). */
  allows(type: string, perm: Perm): boolean {
    return grantsFor(this.ctx.grants, type, perm).some((g) => this.reach(g, type, perm !== 'r' && perm !== 's') !== 'none');
  }

  /** Types among `types` the token can see, and the filter that keeps queries inside what it may see. */
  narrow(types: readonly string[]): { types: string[]; filter?: Filter } {
    const visible = types.filter((t) => this.typeAccess(t).visible);
    const open: string[] = [];
    const groups = new Map<string, { types: string[]; filter: Filter }>();
    for (const t of visible) {
      const n = this.typeAccess(t).narrowing;
      if (!n) {
        open.push(t);
        continue;
      }
      const key = JSON.stringify(n);
      const g = groups.get(key);
      if (g) g.types.push(t);
      else groups.set(key, { types: [t], filter: n });
    }
    if (groups.size === 0) return { types: visible };
    const branches: Filter[] = [];
    if (open.length) branches.push({ type: { $in: open } });
    for (const g of groups.values()) branches.push({ $and: [{ type: { $in: g.types } }, g.filter] });
    return { types: visible, filter: branches.length === 1 ? branches[0] : { $or: branches } };
  }

  private inCompartment(r: Resource): boolean {
    return this.ctx.patient !== undefined && this.comp.contains(r, this.search.extractIndex(r), this.ctx.patient);
  }

  /**
   * The rows the token may see. `narrowed` says the rows come from a query that had the
   * narrowing filter added (so compartment membership need not be checked again).
   */
  async visibleRows(rows: readonly StoredVersion[], reader: Reader, narrowed: boolean): Promise<StoredVersion[]> {
    const keep = new Set<StoredVersion>();
    const byType = new Map<string, StoredVersion[]>();
    for (const v of rows) (byType.get(v.type) ?? byType.set(v.type, []).get(v.type)!).push(v);
    for (const [type, list] of byType) {
      const a = this.typeAccess(type);
      if (!a.visible) continue;
      const live = list.filter((v) => v.resource !== undefined);
      // A deletion shows no content; it is visible only to grants that reach every resource of the type.
      if (a.grants.some((x) => x.reach === 'all' && !x.g.params)) list.filter((v) => v.resource === undefined).forEach((v) => keep.add(v));
      if (narrowed && a.exact) {
        live.forEach((v) => keep.add(v));
        continue;
      }
      for (const { g, reach } of a.grants) {
        let candidates = live.filter((v) => !keep.has(v) && (reach === 'all' || this.inCompartment(v.resource!)));
        if (candidates.length && g.params) {
          const ids = [...new Set(candidates.map((v) => v.id))];
          const matched = new Set<string>();
          for (let i = 0; i < ids.length; i += 100) {
            const found = await this.search.findMatches(reader, type, [['_id', ids.slice(i, i + 100).join(',')], ...g.params]);
            for (const m of found) matched.add(m.id);
          }
          candidates = candidates.filter((v) => matched.has(v.id));
        }
        candidates.forEach((v) => keep.add(v));
      }
    }
    return rows.filter((v) => keep.has(v));
  }

  /**
   * Refuses (403) a write the token may not make: `existing` is the current live version (update,
   * delete), `next` the new content (create, update). Query-restricted grants do not allow writes.
   */
  checkWrite(type: string, perm: 'c' | 'u' | 'd', existing: Resource | undefined, next: Resource | undefined): void {
    const perms: Perm[] = perm === 'c' ? ['c', 'u'] : [perm];
    const grants = perms.flatMap((p) => grantsFor(this.ctx.grants, type, p)).filter((g) => !g.params);
    const what = perm === 'c' ? 'create' : perm === 'u' ? 'update' : 'delete';
    if (grants.some((g) => this.reach(g, type, true) === 'all')) return;
    if (!grants.some((g) => this.reach(g, type, true) === 'compartment')) throw forbidden(`The access token does not allow ${what} on ${type}`);
    if (existing && !this.inCompartment(existing)) throw forbidden(`${type}/${existing.id} is outside the patient's compartment`);
    if (next && !this.inCompartment(next)) throw forbidden(`The ${type} would be outside the patient's compartment (patient ${this.ctx.patient})`);
  }

  /** Patient/{id} targets of a request must be the token's own patient when only patient/ grants reach Patient. */
  confinedToPatient(): boolean {
    return this.ctx.patient !== undefined && !this.ctx.grants.some((g) => g.context !== 'patient');
  }
}
