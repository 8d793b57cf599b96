import type { Patient, Resource } from 'fhir/r4.js';
import { FhirError } from '../fhir/errors.js';
import type { SearchService } from '../rest/services.js';
import { allOf, anyOf, NOTHING } from '../search/compiled.js';
import type { Filter, IndexValues, StoredVersion, StoreTx } from '../store/port.js';
import type { AuthContext } from './context.js';
import { CompartmentMembers, type PatientCompartment, SHARED_TYPES } from './patient-compartment.js';
import { grantsFor, readGrants, type Grant, type Perm } from './scopes.js';
import type { Confinement, UserAccessMode } from './user-access.js';

export const forbidden = (diagnostics: string) => FhirError.of(403, 'forbidden', diagnostics);

type Reader = { find: StoreTx['find'] };

/** How a grant reaches resources of one type: all of them, those in its confinement, or none. */
type Reach = 'all' | 'compartment' | 'none';

interface GrantReach {
  g: Grant;
  reach: Reach;
  /** Whose compartments a 'compartment' reach covers. */
  conf?: Confinement;
}

interface TypeAccess {
  visible: boolean;
  /** Compartment filter to add to queries; undefined = no narrowing. */
  narrowing?: Filter;
  /** Rows found with the narrowing need no further check (an unrestricted grant covers them). */
  exact: boolean;
  grants: GrantReach[];
}

/** What user/ grants reach: everything ('all' mode), or the fhirUser's confinement (care-team mode). */
export interface UserAccess {
  mode: UserAccessMode;
  /** Care-team mode: loaded from the current data for this request; undefined = the token names no usable user. */
  confinement?: Confinement;
}

/** Whether a token's grants read every resource unnarrowed (a system/ `*` read grant, or user/ in 'all' mode). */
export function seesEverything(grants: readonly Grant[], userMode: UserAccessMode): boolean {
  return grants.some((g) => open(g, userMode) && g.type === '*' && !g.params && (g.perms.has('r') || g.perms.has('s')));
}

/** A grant that is not confined to compartments. */
const open = (g: Grant, userMode: UserAccessMode) => g.context === 'system' || (g.context === 'user' && userMode === 'all');

let practitionerMembers: CompartmentMembers | undefined;
const practitioners = () => (practitionerMembers ??= new CompartmentMembers('Practitioner'));

/**
 * What one access token may see and change: the data view behind every interaction, used by
 * the guarded store (src/auth/guarded-store.ts). patient/ grants reach the patient's compartment,
 * user/ grants the compartments of the user's patients (src/auth/user-access.ts), both also the
 * shared reference types (read only); v2 query restrictions are checked against the store.
 */
export class AccessPolicy {
  private readonly cache = new Map<string, TypeAccess>();
  /** Per type, the filter of exactly what the token may see (compartments and restrictions), compiled once per request. */
  private readonly accessFilters = new Map<string, Promise<Filter | undefined>>();
  private readonly patientConf: Confinement | undefined;

  constructor(
    readonly ctx: AuthContext,
    private readonly comp: PatientCompartment,
    private readonly search: SearchService,
    private readonly user: UserAccess,
  ) {
    this.patientConf = ctx.patient ? { patients: new Set([ctx.patient]) } : undefined;
    this.seesEverything = seesEverything(ctx.grants, user.mode);
  }

  /** A system/ (or unconfined user/) `*` read grant: reads need no narrowing or checks. */
  readonly seesEverything: boolean;

  /** The patients user/ grants reach in care-team mode (undefined: 'all' mode, or no usable fhirUser). */
  get userPatients(): ReadonlySet<string> | undefined {
    return this.user.confinement?.patients;
  }

  /** The token has user/ grants but names no user they could reach (care-team mode). */
  get userUnresolved(): boolean {
    return this.user.mode === 'care-team' && !this.user.confinement && this.ctx.grants.some((g) => g.context === 'user');
  }

  private confOf(g: Grant): Confinement | undefined {
    return g.context === 'patient' ? this.patientConf : g.context === 'user' ? this.user.confinement : undefined;
  }

  private reach(g: Grant, type: string, write: boolean): Reach {
    if (open(g, this.user.mode)) return 'all';
    const conf = this.confOf(g);
    if (!conf) return 'none';
    if (this.comp.isCompartmentType(type)) return 'compartment';
    if (write) return 'none';
    if (SHARED_TYPES.has(type)) return 'all';
    return conf.practitioner && practitioners().isCompartmentType(type) ? 'compartment' : 'none';
  }

  /** Query filter for the resources of `type` inside `conf`; undefined when none can be. */
  private confFilter(conf: Confinement, type: string): Filter | undefined {
    const pp = this.comp.paramsFor(type);
    const qp = conf.practitioner ? practitioners().paramsFor(type) : [];
    if (type !== 'Patient' && conf.patients.size && pp.length && qp.length && this.crossSafe(type, pp, qp)) {
      const refs = [...[...conf.patients].map((id) => `Patient/${id}`), `Practitioner/${conf.practitioner}`];
      return { 'idx.ref': { $elemMatch: { p: { $in: [...new Set([...pp, ...qp])] }, r: { $in: refs } } } };
    }
    const alternatives = [
      this.comp.isCompartmentType(type) ? this.comp.filter([...conf.patients], type) : undefined,
      conf.practitioner && practitioners().isCompartmentType(type) ? practitioners().filter([conf.practitioner], type) : undefined,
    ].filter((f): f is Filter => f !== undefined);
    return alternatives.length > 1 ? { $or: alternatives } : alternatives[0];
  }

  /**
   * Whether one `idx.ref` clause over both compartments' parameters and owners selects exactly
   * their union: no Patient-compartment parameter outside the Practitioner ones can point at a
   * Practitioner, and no Practitioner one outside the Patient ones at a Patient (by the parameters'
   * target types). The store's reference index decides such a clause alone, where it would
   * evaluate a $or of the two row by row.
   */
  private crossSafe(type: string, pp: readonly string[], qp: readonly string[]): boolean {
    const targets = new Map(this.search.parametersFor(type).map((sp) => [sp.code, sp.target]));
    const can = (p: string, t: string) => {
      const ts = targets.get(p);
      return !ts || ts.includes(t as never);
    };
    return pp.every((p) => qp.includes(p) || !can(p, 'Practitioner')) && qp.every((p) => pp.includes(p) || !can(p, 'Patient'));
  }

  typeAccess(type: string): TypeAccess {
    const hit = this.cache.get(type);
    if (hit) return hit;
    let grants: GrantReach[] = readGrants(this.ctx.grants, type)
      .filter((g) => g.type !== '*' || !g.params || this.restricts(type, g.params))
      .map((g) => ({ g, reach: this.reach(g, type, false), conf: this.confOf(g) }))
      .filter((x) => x.reach !== 'none');
    let a: TypeAccess;
    if (grants.some((x) => x.reach === 'all')) {
      a = { visible: true, exact: grants.some((x) => x.reach === 'all' && !x.g.params), grants };
    } else {
      // Confined grants only: the narrowing is the union of their confinements.
      const confs = [...new Set(grants.map((x) => x.conf!))];
      const filters = new Map(confs.map((c) => [c, this.confFilter(c, type)] as const));
      grants = grants.filter((x) => filters.get(x.conf!) !== undefined);
      const parts = [...new Set(grants.map((x) => x.conf!))].map((c) => filters.get(c)!);
      a = {
        visible: grants.length > 0,
        narrowing: parts.length > 1 ? { $or: parts } : parts[0],
        // Exact when every confinement in the narrowing has an unrestricted grant.
        exact: grants.length > 0 && grants.every((x) => grants.some((y) => y.conf === x.conf && !y.g.params)),
        grants,
      };
    }
    this.cache.set(type, a);
    return a;
  }

  /**
   * Whether a `*` grant's query restriction applies to `type`: each parameter it names (before a
   * modifier or chain) is one of the type's. `patient/*.rs?category=x` reaches the types that have
   * a category, and no others, where asking a Patient search for `category` was a 400 on every read.
   */
  private restricts(type: string, params: ReadonlyArray<readonly [string, string]>): boolean {
    const codes = new Set(this.search.parametersFor(type).map((sp) => sp.code));
    return params.every(([name]) => {
      const base = name.split(/[:.]/)[0];
      return base.startsWith('_') || codes.has(base);
    });
  }

  /** Whether the token may perform `perm` on some resources of `type` (interaction-level check). */
  allows(type: string, perm: Perm): boolean {
    return grantsFor(this.ctx.grants, type, perm).some((g) => this.reach(g, type, perm !== 'r' && perm !== 's') !== 'none');
  }

  /**
   * The filter that selects exactly the resources of `type` the token may see, for the store to
   * run: each confinement's compartment filter (none for a grant that reaches every resource),
   * AND its grants' query restrictions compiled as searches of the type (several grants = their
   * OR); the confinements ORed. Undefined when every resource of the type is visible. The
   * restrictions' own chains or _has run on `reader` (the raw store, as a restriction is checked
   * against the data itself). Compiled once per request.
   */
  private accessFilter(type: string, reader: Reader): Promise<Filter | undefined> {
    let f = this.accessFilters.get(type);
    if (!f) this.accessFilters.set(type, (f = this.compileAccess(type, reader)));
    return f;
  }

  private async compileAccess(type: string, reader: Reader): Promise<Filter | undefined> {
    const a = this.typeAccess(type);
    if (a.exact) return a.narrowing;
    // Per confinement (undefined: grants that reach every resource), its restricted grants, or null when one grant is unrestricted.
    const byConf = new Map<Confinement | undefined, Grant[] | null>();
    for (const { g, reach, conf } of a.grants) {
      const key = reach === 'all' ? undefined : conf;
      const cur = byConf.get(key);
      if (cur === null) continue;
      if (!g.params) byConf.set(key, null);
      else if (cur) cur.push(g);
      else byConf.set(key, [g]);
    }
    const branches: Filter[] = [];
    for (const [conf, restricted] of byConf) {
      const where = conf ? this.confFilter(conf, type) : {};
      if (!where) continue;
      const restriction = restricted ? anyOf(await Promise.all(restricted.map((g) => this.search.filterFor(reader, type, g.params!)))) : {};
      branches.push(allOf([where, restriction]));
    }
    return branches.length ? anyOf(branches) : NOTHING;
  }

  /**
   * Types among `types` the token can see, and the filter that keeps queries inside exactly what
   * it may see (compartments and query restrictions), for the store to run with the query's own.
   */
  async narrow(types: readonly string[], reader: Reader): Promise<{ types: string[]; filter?: Filter }> {
    const visible = types.filter((t) => this.typeAccess(t).visible);
    const unnarrowed: string[] = [];
    const groups = new Map<string, { types: string[]; filter: Filter }>();
    for (const t of visible) {
      const n = await this.accessFilter(t, reader);
      if (!n) {
        unnarrowed.push(t);
        continue;
      }
      const key = JSON.stringify(n);
      const g = groups.get(key);
      if (g) g.types.push(t);
      else groups.set(key, { types: [t], filter: n });
    }
    if (groups.size === 0) return { types: visible };
    // One narrowing for every type: the store's type list already restricts the types, and a bare
    // compartment filter is one the store's reference index answers by itself.
    if (groups.size === 1 && unnarrowed.length === 0) return { types: visible, filter: [...groups.values()][0].filter };
    const branches: Filter[] = [];
    if (unnarrowed.length) branches.push({ type: { $in: unnarrowed } });
    for (const g of groups.values()) branches.push({ $and: [{ type: { $in: g.types } }, g.filter] });
    return { types: visible, filter: branches.length === 1 ? branches[0] : { $or: branches } };
  }

  /** Whether the resource is readable inside `conf`: a patient's compartment, or the user's Practitioner compartment. */
  private inside(r: Resource, conf: Confinement, idx = this.search.extractIndex(r)): boolean {
    if (this.comp.containsAny(r, idx, conf.patients)) return true;
    return conf.practitioner !== undefined && practitioners().contains(r, idx, conf.practitioner);
  }

  /**
   * The rows the token may see. `narrowed` says the rows come from a query that had the filter of
   * `narrow` added (so neither compartment membership nor query restrictions need be checked again).
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
      if (narrowed) {
        live.forEach((v) => keep.add(v));
        continue;
      }
      for (const { g, reach, conf } of a.grants) {
        let candidates = live.filter((v) => !keep.has(v) && (reach === 'all' || this.inside(v.resource!, conf!)));
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
   * delete), `next` the new content (create, update); `isNew` = the id never existed. Query-restricted
   * grants do not allow writes. A confined grant writes only inside its patients' compartments (as
   * they are when the request starts), and only there: a resource is in the compartment of every
   * patient any of its compartment parameters names (a Condition through subject and asserter, a
   * CareTeam through subject and participant, a Group through each member), so both versions must
   * be in no compartment but the token's patients'. A caring user may also register a new Patient
   * that names them as general practitioner: true then, for the caller to check that no stored
   * resource names the new id yet (its compartment would join the user's panel with it).
   */
  checkWrite(type: string, perm: 'c' | 'u' | 'd', existing: Resource | undefined, next: Resource | undefined, isNew = false, idx: { existing?: IndexValues; next?: IndexValues } = {}): boolean {
    const reach = this.writeReach(type, perm === 'c' ? ['c', 'u'] : [perm]);
    const what = perm === 'c' ? 'create' : perm === 'u' ? 'update' : 'delete';
    if (reach === 'all') return false;
    const { confs, patients } = reach;
    if (!confs.length) throw forbidden(this.userUnresolved ? USER_UNRESOLVED : `The access token does not allow ${what} on ${type}`);
    if (existing) {
      const owners = this.ownersOf(existing, idx.existing);
      const others = [...owners].filter((id) => !patients.has(id));
      if (others.length === owners.size) throw forbidden(`${type}/${existing.id} is outside the compartments of the access token's patients`);
      // In the token's patients' compartments: it is their record, so the others may be named.
      if (others.length) throw forbidden(`${type}/${existing.id} is also in the compartment of ${patientList(others)}, which is not among the access token's patients`);
    }
    if (next) {
      const owners = this.ownersOf(next, idx.next);
      const registers = (c: Confinement) => isNew && next.resourceType === 'Patient' && ((next as Patient).generalPractitioner ?? []).some((r) => c.careRefs?.includes(r.reference ?? '') === true);
      // A new Patient registered by its carer: its own compartment is not anyone's yet.
      const registered = confs.some(registers);
      if (registered) owners.delete(next.id ?? '');
      const others = [...owners].filter((id) => !patients.has(id));
      if (others.length) throw forbidden(`The ${type} would be in the compartment of ${patientList(others)}, which is not among the access token's patients`);
      if (!owners.size && !registered) throw forbidden(`The ${type} would be outside the compartments of the access token's patients`);
      return registered && !patients.has(next.id ?? '');
    }
    return false;
  }

  /**
   * What the grants for a write of `perms` on `type` reach: every resource, or the compartments of
   * the patients of their confinements (none when `confs` is empty). Query-restricted grants do not write.
   */
  private writeReach(type: string, perms: readonly Perm[]): 'all' | { confs: Confinement[]; patients: Set<string> } {
    const grants = perms.flatMap((p) => grantsFor(this.ctx.grants, type, p)).filter((g) => !g.params);
    if (grants.some((g) => this.reach(g, type, true) === 'all')) return 'all';
    const confs = [...new Set(grants.filter((g) => this.reach(g, type, true) === 'compartment').map((g) => this.confOf(g)!))];
    return { confs, patients: new Set(confs.flatMap((c) => [...c.patients])) };
  }

  /**
   * Whether the token may update or delete this current version, read or not: SMART v2 `u` and `d`
   * need no `r`, and the write reads the version it replaces through the guarded store. A deletion
   * counts for grants that reach every resource of the type; content when checkWrite would let it
   * be changed (in the compartments of the token's patients and no one else's).
   */
  mayChange(v: StoredVersion): boolean {
    const reach = this.writeReach(v.type, ['u', 'd']);
    if (reach === 'all') return true;
    if (!v.resource || !reach.confs.length) return false;
    const owners = this.ownersOf(v.resource, v.idx);
    return owners.size > 0 && [...owners].every((id) => reach.patients.has(id));
  }

  /** The patients whose compartments hold a resource, from its index values: as stored or written when given, else extracted. */
  private ownersOf(r: Resource, idx: IndexValues | undefined): Set<string> {
    return this.comp.owners(r.resourceType, r.id, (idx ?? this.search.extractIndex(r)).ref);
  }

  /** Whether a request may name Patient/{id} as its target (read, compartment, operation parameter). */
  patientTargetAllowed(id: string): boolean {
    if (this.ctx.grants.some((g) => open(g, this.user.mode))) return true;
    return [this.patientConf, this.user.confinement].some((c) => c?.patients.has(id) === true);
  }
}

/** `Patient/a`, `Patient/a and Patient/b`, ... (at most five named). */
function patientList(ids: readonly string[]): string {
  const named = ids.slice(0, 5).map((id) => `Patient/${id}`);
  if (ids.length > 5) named.push(`${ids.length - 5} more`);
  return named.length === 1 ? named[0] : `${named.slice(0, -1).join(', ')} and ${named[named.length - 1]}`;
}

/** Why a user/ token reaches nothing. */
export const USER_UNRESOLVED =
  'user/ scopes need a fhirUser claim naming a Practitioner, PractitionerRole, Patient or RelatedPerson (USER_ACCESS=care-team)';
