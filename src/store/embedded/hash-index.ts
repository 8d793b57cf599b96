import type { Filter } from '../port.js';
import { checkDeadline } from '../deadline.js';
import { resourceKey } from '../stamp.js';
import { flat } from './flat-string.js';

/**
 * Hash indexes that let the embedded store answer the equality lookups of FHIR search
 * (`{ 'idx.ref': { $elemMatch: { p: 'patient', r: 'Patient/1' } } }`) without scanning.
 * They are derived from the same index specs that the MongoDB adapter creates, so both
 * adapters are fast on the same query shapes. The full filter is still applied afterwards:
 * an index only narrows the candidates.
 */

type SearchDoc = { type: string; idx: Record<string, unknown> };

/**
 * What the buckets hold: one object per live document (the embedded store's current versions),
 * with its "Type/id" key and search document. Holding the objects, not their keys, makes a probe
 * a comparison of references (a key is a string the probe would compare with the others of its
 * hash chain) and gives a search its versions with no lookup by key: on a large store these
 * lookups were most of a patient-scoped search's time in the store (cache misses, one per chain
 * entry and string).
 */
export interface Member {
  readonly key: string;
  readonly doc: SearchDoc;
  /**
   * A small number naming the resource, the same for all its versions (the store hands them out
   * densely from 0): a large bucket also keeps its members as bits by slot (Bucket.holds).
   */
  readonly slot: number;
}

interface ElemIndex {
  /** Array field of the search document, e.g. 'idx.ref', and its path. */
  field: string;
  path: string[];
  /**
   * Eager ones are kept from the first write (as MongoDB maintains its indexes); the others are
   * built on the first query that can use them, then kept up to date: specs whose fields are
   * only ever range-queried (dates, numbers) then cost nothing.
   */
  built: boolean;
  /** The two leading element fields hashed together, e.g. ['p', 'r'], and the spec's third, if any (a token's system). */
  a: string;
  b: string;
  c: string | undefined;
  /**
   * type -> a -> b -> keys. Nested maps keyed by the values themselves: no key string is built
   * per element (the index values are interned, so their hashes are computed once), and values
   * keep their JavaScript type, as MongoDB equality does (1 and '1' are different keys).
   */
  byType: Map<string, Map<unknown, Map<unknown, Bucket>>>;
}

/** Marks a bucket whose elements had different values of the third field. */
const MIXED = Symbol('mixed');

/** From this many members on, a bucket also keeps them as bits by slot. */
const BITS_FROM = 1024;

/**
 * The members with an element (a, b), and the one value of the spec's third field that every
 * element ever added to it had (MIXED otherwise; removals never unmix). A token search by
 * system|code then needs no look at the documents when its bucket's system is uniform.
 *
 * A large bucket (a status, a common code) is mostly probed: patient + status walks the
 * patient's few members and asks the status bucket about each. Set.has reads the hash table's
 * bucket and chain entries, each a cache miss in a table of 100,000 members; the bits by slot
 * are one word of an array of a few tens of KB, which stays in cache. A bucket holds at most one
 * member per slot (only current versions, and a version leaves before its successor comes).
 */
class Bucket extends Set<Member> {
  third: unknown;
  bits: Uint32Array | undefined;

  put(m: Member): void {
    this.add(m);
    if (this.bits) setBit(this, m.slot);
    else if (this.size >= BITS_FROM) for (const x of this) setBit(this, x.slot);
  }

  remove(m: Member): void {
    if (this.delete(m) && this.bits) this.bits[m.slot >>> 5] &= ~(1 << (m.slot & 31));
  }

  holds(m: Member): boolean {
    const bits = this.bits;
    if (bits === undefined) return this.has(m);
    const word = m.slot >>> 5;
    return word < bits.length && (bits[word] & (1 << (m.slot & 31))) !== 0;
  }
}

function setBit(b: Bucket, slot: number): void {
  const word = slot >>> 5;
  if (b.bits === undefined || word >= b.bits.length) {
    const grown = new Uint32Array(Math.max(word + 1, (b.bits?.length ?? 0) * 2, 32));
    if (b.bits) grown.set(b.bits);
    b.bits = grown;
  }
  b.bits[word] |= 1 << (slot & 31);
}

type Scalar = string | number | boolean;
/** One clause exact() decides: an `id` equality, or an `$elemMatch` on an indexed array field. */
export type Clause =
  | { ids: Scalar[]; def?: undefined }
  | { ids?: undefined; def: ElemIndex; as: Scalar[]; bs: Scalar[]; wanted: Array<readonly [string, Scalar]> };

/**
 * A filter the indexes decide, read once: its clauses, and a key that names its answer for the
 * memo of decided sets. Equal keys mean equal clauses (each value is written with its type and
 * length), so two filters share an answer only when exact() would give both the same one. The
 * key is a few pieces joined, where the filter's JSON (the memo key otherwise) was a tenth
 * of a patient-scoped search's time in the engine.
 */
export class Decision {
  #key: string | undefined;

  /** `clauses`: read from one filter, or gathered from a conjunction's parts. */
  constructor(readonly clauses: Clause[]) {}

  /** Made when first asked: a cheap answer is never looked up in the memo (decided-sets.ts). */
  get key(): string {
    return (this.#key ??= decisionKey(this.clauses));
  }
}

/** Each value with its type and length, so that no two readings write the same key. */
function pushScalars(parts: string[], vs: readonly Scalar[]): void {
  parts.push(String(vs.length));
  for (const v of vs) {
    const text = String(v);
    parts.push(typeof v === 'string' ? 's' : typeof v === 'number' ? 'n' : 'b', String(text.length), text);
  }
}

/**
 * Joined, not concatenated: the memo keeps the key while the next queries run, and a key built
 * by `+=` is a rope of every piece (those ropes were the largest share of what survived young
 * collections during a search load).
 */
function decisionKey(clauses: Clause[]): string {
  const parts: string[] = [];
  for (const c of clauses) {
    if (c.ids) {
      parts.push('id');
      pushScalars(parts, c.ids);
      continue;
    }
    parts.push('elem', String(c.def.field.length), c.def.field);
    pushScalars(parts, c.as);
    pushScalars(parts, c.bs);
    parts.push(String(c.wanted.length));
    for (const [f, v] of c.wanted) {
      parts.push(String(f.length), f);
      pushScalars(parts, [v]);
    }
  }
  return parts.join(':');
}

/**
 * The indexes over members of type M: every set they return holds only what was added, so
 * only M (the one cast below, in `asM`).
 */
export class HashIndexes<M extends Member> {
  private readonly defs: ElemIndex[] = [];
  private readonly byField = new Map<string, ElemIndex>();

  /**
   * `liveMembers` gives all live members, to build a lazy index on first use; `memberOf` the live
   * member of a key (for `_id`); `eager` names the array fields indexed from the start (the
   * store then feeds every write and replayed record).
   */
  constructor(
    specs: ReadonlyArray<Record<string, 1 | -1>>,
    private readonly liveMembers: () => Iterable<M>,
    private readonly memberOf: (key: string) => M | undefined,
    eager: ReadonlyArray<string> = [],
  ) {
    for (const spec of specs) {
      const keys = Object.keys(spec).filter((k) => k !== 'type');
      if (keys.length < 2) continue;
      const field = keys[0].slice(0, keys[0].lastIndexOf('.'));
      if (!field || !keys.every((k) => k.startsWith(field + '.'))) continue;
      if (this.byField.has(field)) continue;
      const def: ElemIndex = {
        field,
        path: field.split('.'),
        built: eager.includes(field),
        a: keys[0].slice(field.length + 1),
        b: keys[1].slice(field.length + 1),
        c: keys[2]?.slice(field.length + 1),
        byType: new Map(),
      };
      this.defs.push(def);
      this.byField.set(field, def);
    }
  }

  /** Adds (or removes) a member under the entries of its document as it is now. */
  update(m: M, add: boolean): void {
    for (const def of this.defs) if (def.built) this.updateOne(def, m, add);
  }

  private updateOne(def: ElemIndex, m: Member, add: boolean): void {
    const doc = m.doc;
    let arr: unknown = doc;
    for (const part of def.path) arr = arr && typeof arr === 'object' ? (arr as Record<string, unknown>)[part] : undefined;
    if (!Array.isArray(arr)) return;
    let byA = def.byType.get(doc.type);
    if (!byA) {
      if (!add) return;
      def.byType.set(doc.type, (byA = new Map()));
    }
    for (const el of arr) {
      if (!el || typeof el !== 'object') continue;
      const va = (el as Record<string, unknown>)[def.a];
      const vb = (el as Record<string, unknown>)[def.b];
      if (va === undefined || vb === undefined || va === null || vb === null) continue;
      let byB = byA.get(va);
      if (add) {
        if (!byB) byA.set(va, (byB = new Map()));
        const third = def.c === undefined ? undefined : (el as Record<string, unknown>)[def.c];
        let set = byB.get(vb);
        if (!set) {
          byB.set(vb, (set = new Bucket()));
          set.third = third;
        } else if (set.third !== third) set.third = MIXED;
        set.put(m);
      } else {
        const set = byB?.get(vb);
        if (!set) continue;
        set.remove(m);
        if (set.size > 0) continue;
        byB!.delete(vb);
        if (byB!.size === 0) byA.delete(va);
      }
    }
  }

  /**
   * Candidate members for a filter, or undefined when no index applies (scan).
   * The returned set may be an index bucket itself: callers only read it.
   */
  candidates(types: readonly string[], filter: Filter): ReadonlySet<M> | undefined {
    const plan = this.plan(types, filter);
    if (!plan) return undefined;
    if (plan.length === 1) return asM<M>(plan[0]);
    const union = new Set<M>();
    for (const set of plan) for (const m of asM<M>(set)) union.add(m);
    return union;
  }

  /**
   * The exact answer when the index decides the filter: a conjunction (top level or `$and`)
   * whose every clause is an `$elemMatch` of equalities (or `$in` on the two hashed fields), for
   * example patient + clinical-status, or code = system|code. A clause on just the two hashed
   * fields matches exactly the documents in its buckets; further equality fields (the system of
   * a token) are checked on the indexed elements themselves. An `id` equality (`_id`) is the
   * live members of those keys. Undefined otherwise.
   */
  exact(types: readonly string[], filter: Filter | Decision): Set<M> | undefined {
    return this.planExact(types, filter)?.run();
  }

  /**
   * exact(), planned before it runs: how many keys it will walk (those of the smallest clause),
   * which tells a caller whether the answer is worth keeping, and the run that gives it.
   */
  planExact(types: readonly string[], filter: Filter | Decision): { walked: number; run(): Set<M> } | undefined {
    const plan = this.exactPlan(types, filter instanceof Decision ? filter.clauses : this.clausesOf(filter));
    if (!plan) return undefined;
    const { unions, checks } = plan;
    const size = (u: Array<ReadonlySet<Member>>) => {
      let n = 0;
      for (const x of u) n += x.size;
      return n;
    };
    // The smallest clause is walked, the others probed (no sort: its working storage is per call).
    let smallest = 0;
    for (let i = 1; i < unions.length; i++) if (size(unions[i]) < size(unions[smallest])) smallest = i;
    const first = unions[smallest];
    const rest = unions.filter((_, i) => i !== smallest);
    const run = () => {
      const out = new Set<M>();
      // Plain loops: this runs once per member of the smallest clause (200k time entries for a month's candidates).
      let seen = 0;
      for (const set of first) {
        members: for (const m of asM<M>(set)) {
          if ((++seen & 4095) === 0) checkDeadline();
          for (const u of rest) {
            let hit = false;
            for (const b of u) if ((hit = b instanceof Bucket ? b.holds(m) : b.has(m))) break;
            if (!hit) continue members;
          }
          for (const c of checks) if (!c(m)) continue members;
          out.add(m);
        }
      }
      return out;
    };
    return { walked: size(first), run };
  }

  /** The filter read as exact() reads it, with its memo key; undefined when not decided. */
  decision(filter: Filter): Decision | undefined {
    const clauses = this.clausesOf(filter);
    return clauses && new Decision(clauses);
  }

  /**
   * exact()'s plan: per clause a union of buckets, plus checks on the documents for what the
   * buckets do not hash (a token's system, liveness of an _id). Undefined when not decided.
   */
  private exactPlan(
    types: readonly string[],
    clauses: Clause[] | undefined,
  ): { unions: Array<Array<ReadonlySet<Member>>>; checks: Array<(m: Member) => boolean> } | undefined {
    if (!clauses) return undefined;
    // Each clause is a union of buckets; exact() intersects by walking the smallest union and
    // probing the others, so no large bucket is ever copied.
    const unions: Array<Array<ReadonlySet<Member>>> = [];
    const checks: Array<(m: Member) => boolean> = [];
    for (const clause of clauses) {
      if (clause.ids) {
        unions.push([this.membersOfIds(types, clause.ids)]);
        continue;
      }
      const { def, as, bs, wanted } = clause;
      const found = this.buckets(types, def, as, bs);
      // Only the third field asked for (system|code): buckets uniform in it are kept or left out whole.
      const third = wanted.length === 1 && wanted[0][0] === def.c ? wanted[0][1] : MIXED;
      const parts = third === MIXED ? found : found.filter((set) => set.third === third || set.third === MIXED);
      unions.push(parts);
      if (wanted.length && (third === MIXED || parts.some((set) => set.third === MIXED))) {
        const aSet = new Set(as);
        const bSet = new Set(bs);
        const { path, a, b } = def;
        const wantedKeys = wanted.map(([k]) => k);
        const wantedValues = wanted.map(([, v]) => v);
        checks.push((m) => {
          let arr: unknown = m.doc;
          for (const part of path) arr = arr && typeof arr === 'object' ? (arr as Record<string, unknown>)[part] : undefined;
          if (!Array.isArray(arr)) return false;
          elements: for (const el of arr) {
            if (!el || typeof el !== 'object') continue;
            const e = el as Record<string, unknown>;
            if (!aSet.has(e[a] as Scalar) || !bSet.has(e[b] as Scalar)) continue;
            for (let i = 0; i < wantedKeys.length; i++) if (e[wantedKeys[i]] !== wantedValues[i]) continue elements;
            return true;
          }
          return false;
        });
      }
    }
    return { unions, checks };
  }

  /**
   * The clauses of a filter exact() decides, read from its shape alone: a conjunction (top level
   * or `$and` of one-field filters) of `id` equalities and `$elemMatch`es naming both hashed
   * fields by equality (or `$in`) and further fields by a plain value. Undefined otherwise.
   */
  clausesOf(filter: Filter): Clause[] | undefined {
    const fields: Array<[string, unknown]> = [];
    for (const [field, cond] of Object.entries(filter)) {
      if (field === '$and' && Array.isArray(cond)) {
        for (const sub of cond) {
          const entries = Object.entries(sub as Filter);
          if (entries.length !== 1) return undefined;
          fields.push(entries[0]);
        }
      } else fields.push([field, cond]);
    }
    if (fields.length === 0) return undefined;
    const clauses: Clause[] = [];
    for (const [field, cond] of fields) {
      if (field === 'id') {
        const ids = eqValues(cond);
        if (!ids) return undefined;
        clauses.push({ ids });
        continue;
      }
      const def = this.byField.get(field);
      const em = def && cond && typeof cond === 'object' ? (cond as Record<string, unknown>).$elemMatch : undefined;
      if (!def || !em || typeof em !== 'object' || Object.keys(cond as object).length !== 1) return undefined;
      const keys = Object.keys(em);
      if (!keys.includes(def.a) || !keys.includes(def.b)) return undefined;
      const extra = keys.filter((k) => k !== def.a && k !== def.b);
      const wanted = extra.map((k) => [k, (em as Record<string, unknown>)[k]] as const);
      if (!wanted.every(([, v]) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) return undefined;
      const as = eqValues((em as Record<string, unknown>)[def.a]);
      const bs = eqValues((em as Record<string, unknown>)[def.b]);
      if (!as || !bs) return undefined;
      clauses.push({ def, as, bs, wanted: wanted as Array<readonly [string, Scalar]> });
    }
    return clauses;
  }

  /** `_id`: the live members of the keys the ids make with the types. */
  private membersOfIds(types: readonly string[], ids: readonly Scalar[]): Set<M> {
    const out = new Set<M>();
    for (const t of types) {
      for (const id of ids) {
        const m = this.memberOf(resourceKey(t, String(id)));
        if (m) out.add(m);
      }
    }
    return out;
  }

  /** The smallest applicable candidate source, as a union of sets (not yet materialised). */
  private plan(types: readonly string[], filter: Filter): Array<ReadonlySet<Member>> | undefined {
    let best: Array<ReadonlySet<Member>> | undefined;
    let bestSize = Infinity;
    const consider = (sets: Array<ReadonlySet<Member>> | undefined) => {
      if (!sets) return;
      const size = sets.reduce((n, s) => n + s.size, 0);
      if (size < bestSize) {
        best = sets;
        bestSize = size;
      }
    };
    for (const [field, cond] of Object.entries(filter)) {
      if (field === '$and' && Array.isArray(cond)) {
        for (const sub of cond) consider(this.plan(types, sub as Filter));
      } else if (field === '$or' && Array.isArray(cond) && cond.length > 0) {
        const parts = cond.map((sub) => this.plan(types, sub as Filter));
        if (parts.every((p) => p !== undefined)) consider(parts.flat() as Array<ReadonlySet<Member>>);
      } else if (field === 'id') {
        const ids = eqValues(cond);
        if (ids) consider([this.membersOfIds(types, ids)]);
      } else {
        consider(this.lookupElem(types, field, cond));
      }
    }
    return best;
  }

  private lookupElem(types: readonly string[], field: string, cond: unknown): Bucket[] | undefined {
    const def = this.byField.get(field);
    if (!def || !cond || typeof cond !== 'object') return undefined;
    const em = (cond as Record<string, unknown>).$elemMatch;
    if (!em || typeof em !== 'object' || Object.keys(cond as object).length !== 1) return undefined;
    const as = eqValues((em as Record<string, unknown>)[def.a]);
    const bs = eqValues((em as Record<string, unknown>)[def.b]);
    if (!as || !bs) return undefined;
    return this.buckets(types, def, as, bs);
  }

  /** The buckets of (a, b) pairs among the types; a lazy index is built first. */
  private buckets(types: readonly string[], def: ElemIndex, as: Scalar[], bs: Scalar[]): Bucket[] {
    if (!def.built) {
      for (const m of this.liveMembers()) this.updateOne(def, m, true);
      def.built = true;
    }
    const out: Bucket[] = [];
    for (const t of types) {
      const byA = def.byType.get(t);
      if (!byA) continue;
      for (const a of as) {
        const byB = byA.get(a);
        if (!byB) continue;
        for (const b of bs) {
          const set = byB.get(b);
          if (set) out.push(set);
        }
      }
    }
    return out;
  }
}

/** A set of the buckets as M: the members added are M's only (see HashIndexes). */
function asM<M extends Member>(set: ReadonlySet<Member>): ReadonlySet<M> {
  return set as ReadonlySet<M>;
}

/** A condition's equality values; strings flat, as the indexed ones are (flat-string.ts). */
function eqValues(cond: unknown): Scalar[] | undefined {
  if (typeof cond === 'string') return [flat(cond)];
  if (typeof cond === 'number' || typeof cond === 'boolean') return [cond];
  if (!cond || typeof cond !== 'object' || Array.isArray(cond)) return undefined;
  const c = cond as Record<string, unknown>;
  const keys = Object.keys(c);
  if (keys.length !== 1) return undefined;
  if (keys[0] === '$eq') return eqValues(c.$eq);
  if (keys[0] === '$in' && Array.isArray(c.$in) && c.$in.every((v) => ['string', 'number', 'boolean'].includes(typeof v))) {
    return (c.$in as Scalar[]).map((v) => (typeof v === 'string' ? flat(v) : v));
  }
  return undefined;
}
