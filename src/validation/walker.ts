import type { ElementDefinition } from 'fhir/r4.js';
import { equalsFixed, matchesPattern, valueMismatches } from './compare.js';
import { evalPath, nodeAtPath, parseDiscriminatorPath, type Step } from './discriminator.js';
import { capitalize, maxOf } from './elements.js';
import { contextAllows, describeContexts, elementPath, type ExtensionHolder } from './extension-context.js';
import { NATIVE_CONSTRAINTS, type CompiledConstraint, type InvariantCompiler } from './invariants.js';
import { issue, type Issue } from './issues.js';
import { checkDurationLimits, isDurationLimit, type DurationLimit } from './duration-limits.js';
import { checksReferenceExists, checksReferenceType, type ValidationPolicies } from './policies.js';
import { mustResolveLocally, type LocalTargets } from './references.js';
import type { DefinitionRegistry } from './registry.js';
import { splitCanonical } from './registry.js';
import type { Terminology } from './terminology.js';
import { ensureSnapshot } from './snapshot.js';
import { buildTree, type DefinitionTree, type ElementNode } from './tree.js';
import { checkNarrativeDiv } from './xhtml.js';
import { containedById } from '../fhir/contained-by-id.js';
import { isAbsoluteUri } from '../fhir/absolute-uri.js';

const CORE_SD = 'http://hl7.org/fhir/StructureDefinition/';
/** Most code look-ups remembered (walker.checkCoding), over all code systems. */
const MAX_CACHED_CODES = 200_000;

/** Where a walk is: the resource (for %resource), its container (for %rootResource), the issue sink. */
export interface WalkEnv {
  resource: Record<string, unknown>;
  rootResource: Record<string, unknown>;
  issues: Issue[];
  /** Reference policy (policies.ts); undefined = IGNORE. */
  references?: ValidationPolicies['references'];
  /** The other resources of the Bundle/Parameters being validated, when references are resolved. */
  targets?: LocalTargets;
  /** Types of what `urn:` references name (a transaction's fullUrls), whatever the reference policy. */
  referenceTypes?: Readonly<Record<string, string>>;
  /** The instance path of `resource` (an extension's context is named from its resource). */
  resourcePath?: string;
}

interface Frame {
  tree: DefinitionTree;
  profile: boolean;
}

interface Item {
  value: unknown;
  /** The `_name` sibling of a primitive (id/extensions). */
  elem?: Record<string, unknown>;
  type: string;
  path: string;
}

/**
 * A constraint at one element, with the child names its expression mentions. When none of them is
 * present, the result cannot depend on the instance, so it is computed once and reused (most
 * resource-level constraints, e.g. dom-2/4/5 on `contained`, hit this path).
 */
interface ConstraintRun {
  c: CompiledConstraint;
  refs: string[] | null;
  /** `_name` of each ref (a primitive's id/extensions). */
  unders: string[];
  whenAbsent?: boolean;
  /** Results by the JSON of the mentioned children (the result depends on nothing else). */
  memo?: Map<string, boolean>;
  /** Per ref: the expression only asks whether that child is there (`abatement.empty()`), so the memo key holds its presence, not its JSON. */
  presence?: boolean[];
}

const constraintFailed = (c: CompiledConstraint, path: string) =>
  issue(c.severity, 'invariant', path, `Constraint failed: ${c.key}: '${c.human}' (${c.expression})`);

const MEMO_LIMIT = 4096;
const MEMO_KEY_LIMIT = 300;

/** Expressions that look past named children (or at the context's own value) are always evaluated. */
const CONTEXT_DEPENDENT = /%|descendants|children|hasValue|resolve|repeat|memberOf|conformsTo/;
const ITERATION_VARIABLE = /\$this|\$index|\$total/;
const ITERATING_CALL = /\.(?:where|select|all|exists)\(/g;

/**
 * True when the expression reads more than the context's named children. `$this` inside the argument
 * of where/select/all/exists is the item iterated over (`category.select($this = 'x')`), so only a
 * `$this` outside those arguments reads the context itself.
 */
function contextDependent(expression: string): boolean {
  if (CONTEXT_DEPENDENT.test(expression)) return true;
  if (!ITERATION_VARIABLE.test(expression)) return false;
  let outside = '';
  let from = 0;
  for (const m of expression.matchAll(ITERATING_CALL)) {
    const open = (m.index ?? 0) + m[0].length;
    if (open <= from) continue;
    outside += expression.slice(from, open);
    let depth = 1;
    let i = open;
    for (; i < expression.length && depth > 0; i++) {
      const ch = expression[i];
      if (ch === "'") {
        while (++i < expression.length && expression[i] !== "'") if (expression[i] === '\\') i++;
      } else if (ch === '(') depth++;
      else if (ch === ')') depth--;
    }
    if (depth > 0) return true;
    from = i - 1;
  }
  outside += expression.slice(from);
  return ITERATION_VARIABLE.test(outside);
}

/** True when every use of `name` as a child of the context is `name.empty()` or `name.exists()`. */
function presenceOnly(expression: string, name: string): boolean {
  const uses = new RegExp(`(?<![.\\w\`$%])${name}(?!\\w)(\\.(?:empty|exists)\\(\\))?`, 'g');
  let seen = false;
  for (const m of expression.matchAll(uses)) {
    if (!m[1]) return false;
    seen = true;
  }
  return seen;
}

const NO_ITEMS: readonly Item[] = Object.freeze([]);

function mentions(obj: Record<string, unknown>, names: string[], unders: string[]): boolean {
  for (let i = 0; i < names.length; i++) {
    if (obj[names[i]] !== undefined || obj[unders[i]] !== undefined) return true;
  }
  return false;
}

interface Binding {
  strength: 'required' | 'extensible';
  valueSet: string;
  /** From an additional binding (R5 `binding.additional`, carried in R4 by an extension). */
  additional?: boolean;
}

/** Marks, in a code system's look-up cache, that the system is a supplement (no code can be this string: codes have no spaces at the ends). */
const SUPPLEMENT = ' supplement ';

const ADDITIONAL_BINDING_URLS = new Set([
  'http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.binding.additional',
  'http://hl7.org/fhir/tools/StructureDefinition/additional-binding',
]);

/**
 * Additional bindings whose purpose is `required` or `extensible` and that apply everywhere (one with a
 * `usage` context is left out: its scope cannot be judged here).
 */
function additionalBindings(binding: ElementDefinition['binding']): Binding[] {
  const out: Binding[] = [];
  for (const ext of binding?.extension ?? []) {
    if (!ADDITIONAL_BINDING_URLS.has(ext.url)) continue;
    const parts = ext.extension ?? [];
    const purpose = parts.find((p) => p.url === 'purpose')?.valueCode;
    const valueSet = parts.find((p) => p.url === 'valueSet')?.valueCanonical;
    if ((purpose === 'required' || purpose === 'extensible') && valueSet && !parts.some((p) => p.url === 'usage'))
      out.push({ strength: purpose, valueSet, additional: true });
  }
  return out;
}

interface NodeInfo {
  constraints: ConstraintRun[];
  /** The element's binding and its additional bindings, where a code can be checked against them. */
  bindings?: Binding[];
  checkCard: boolean;
  checkTypes: boolean;
  allowedTypes: Set<string>;
  /** Allowed reference target types; undefined = not checked here. */
  targets?: Set<string>;
  contentRef?: ElementNode;
  /** Property-name suffixes of a choice element -> type code (Quantity, dateTime, ...). */
  choiceTypes?: Map<string, string>;
  visit: boolean;
  valueLimits: { key: string; value: unknown }[];
  /** min/maxValueDuration (duration-limits.ts); undefined when there are none. */
  durationLimits?: DurationLimit[];
  /** `_name`: where a primitive's id/extensions are. */
  underName: string;
}

const REFERENCE_PATTERN = /(?:^|\/)([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The codes of a coded value. A `code` primitive's system is implied by its binding (undefined
 * here: any system of the value set); a Coding's is its own, and one without a system ('') has
 * no defined meaning, so it is in no value set (Java: Coding_has_no_system__cannot_validate).
 */
function codesOf(value: unknown, type: string): { system?: string; code: string }[] {
  if (typeof value === 'string') return [{ code: value }];
  if (!isObject(value)) return [];
  const own = (c: Record<string, unknown>) => ({ system: typeof c.system === 'string' ? c.system : '', code: c.code as string });
  if (type === 'CodeableConcept') {
    const codings = Array.isArray(value.coding) ? (value.coding as Record<string, unknown>[]) : [];
    return codings.filter((c) => isObject(c) && typeof c.code === 'string').map(own);
  }
  return typeof value.code === 'string' ? [own(value)] : [];
}

function unversioned(url: string | undefined): string | undefined {
  return url === undefined ? undefined : splitCanonical(url).url;
}

/**
 * Walks an instance along a StructureDefinition snapshot: cardinality narrowed by profiles,
 * fixed/pattern values, choice types, slicing, bindings, reference targets, extensions,
 * maxLength/minValue/maxValue and FHIRPath invariants. Per-element facts are computed once per
 * definition node and reused on every call.
 */
export class InstanceWalker {
  private readonly trees = new Map<string, DefinitionTree | null>();
  private readonly ancestries = new Map<string, string[]>();
  private readonly infos = new WeakMap<ElementNode, NodeInfo>();
  private readonly pathIndex = new WeakMap<DefinitionTree, Map<string, ElementNode>>();
  /** system -> code -> in the CodeSystem (undefined: the CodeSystem is not held here). */
  private readonly keyIndexes = new Map<ElementNode, Map<string, number[]>>();
  private readonly csCache = new Map<string, Map<string, boolean | undefined>>();
  /** Codes held in csCache, all systems together. */
  private csCodes = 0;

  constructor(
    private readonly registry: DefinitionRegistry,
    private readonly terminology: Terminology,
    private readonly invariants: InvariantCompiler,
    private readonly typeNames: ReadonlySet<string>,
  ) {}

  tree(canonical: string): DefinitionTree | undefined {
    let t = this.trees.get(canonical);
    if (t === undefined) {
      const sd = this.registry.structures.get(canonical);
      // A canonical nothing defines (a client's meta.profile, any text) is not remembered: each
      // one kept a map entry for as long as the server ran (100,000 of them, 9 MB).
      if (!sd) return undefined;
      t = (ensureSnapshot(sd, this.registry) && buildTree(sd, this.registry)) || null;
      this.trees.set(canonical, t);
    }
    return t ?? undefined;
  }

  baseTree(type: string): DefinitionTree | undefined {
    const sd = this.registry.baseByType.get(type);
    return sd ? this.tree(sd.url) : undefined;
  }

  /** Validates a value (resource or data type) against one definition. */
  validate(tree: DefinitionTree, value: Record<string, unknown>, path: string, env: WalkEnv): void {
    const frame: Frame = { tree, profile: !tree.isBase };
    const info = this.info(frame, tree.root);
    this.runConstraints(info, value, path, env);
    if (tree.isBase && tree.type === 'Reference') {
      this.checkLocalReference(value, path, env);
      this.checkReferenceTypeAgrees(value, path, env);
      if (env.references && checksReferenceExists(env.references)) this.checkResolves(value, path, env);
    } else if (tree.isBase && tree.type === 'Attachment') this.checkAttachmentSize(value, path, env);
    this.walkChildren(frame, tree.root, value, path, env);
  }

  /** Whether a value conforms to a profile (used by profile discriminators). */
  conforms(canonical: string, value: unknown, env: WalkEnv): boolean {
    const tree = this.tree(canonical);
    if (!tree || !isObject(value)) return false;
    if (this.registry.isResourceType(tree.type) && value.resourceType !== tree.type) return false;
    const probe: WalkEnv = { ...env, issues: [] };
    this.validate(tree, value, tree.type, probe);
    return !probe.issues.some((i) => i.severity === 'error' || i.severity === 'fatal');
  }

  private info(frame: Frame, node: ElementNode): NodeInfo {
    let info = this.infos.get(node);
    if (info) return info;
    const ed = node.ed;
    const baseEd: ElementDefinition | undefined = frame.profile ? this.registry.baseElement(ed.base?.path ?? '') : undefined;
    const basePath = (frame.profile ? (ed.base?.path ?? ed.path) : ed.path).replace(/\[x\]/g, '');
    const constraints: ConstraintRun[] = [];
    for (const c of ed.constraint ?? []) {
      if (NATIVE_CONSTRAINTS.has(c.key)) continue;
      if (baseEd?.constraint?.some((b) => b.key === c.key)) continue;
      const compiled = this.invariants.compile(c, basePath);
      if (compiled) {
        const found = this.constraintRefs(frame, node, compiled.expression);
        const refs = found?.map((r) => r.ref) ?? null;
        const presence = found?.map((r) => presenceOnly(compiled.expression, r.name));
        constraints.push({ c: compiled, refs, unders: refs?.map((r) => `_${r}`) ?? [], presence: presence?.some((p) => p) ? presence : undefined });
      }
    }
    const bindings: Binding[] = [];
    const b = ed.binding;
    if (b?.valueSet && (b.strength === 'required' || b.strength === 'extensible')) {
      const same =
        baseEd?.binding?.strength === b.strength && unversioned(baseEd.binding.valueSet) === unversioned(b.valueSet);
      if (!same) bindings.push({ strength: b.strength, valueSet: b.valueSet });
    }
    if (b?.extension && frame.profile) bindings.push(...additionalBindings(b));
    const baseMin = baseEd?.min ?? 0;
    const baseMax = baseEd ? maxOf(baseEd.max) : Infinity;
    const checkCard = frame.profile && !node.sliceName && (node.min > baseMin || node.max < baseMax);
    const allowedTypes = new Set(node.types.map((t) => t.code));
    const checkTypes = frame.profile && node.choice && !!baseEd && (baseEd.type?.length ?? 0) > node.types.length;
    let targets: Set<string> | undefined;
    const refTargets = node.types.filter((t) => t.code === 'Reference').flatMap((t) => t.targetProfiles);
    if (refTargets.length) {
      // A target profile this server does not know cannot be checked: it counts as 'any resource'.
      const types = refTargets.map(
        (u) =>
          this.registry.structures.get(u)?.type ??
          (u.startsWith('http://hl7.org/fhir/StructureDefinition/') ? u.slice(u.lastIndexOf('/') + 1) : 'Resource'),
      );
      const baseTargets = (baseEd?.type ?? []).filter((t) => t.code === 'Reference').flatMap((t) => t.targetProfile ?? []);
      const narrowed = !frame.profile || baseTargets.length === 0 || baseTargets.length > refTargets.length;
      if (!types.includes('Resource') && narrowed) targets = new Set(types);
    }
    let contentRef: ElementNode | undefined;
    if (ed.contentReference) contentRef = this.index(frame.tree).get(ed.contentReference.slice(ed.contentReference.indexOf('#') + 1));
    let choiceTypes: Map<string, string> | undefined;
    if (node.choice) {
      choiceTypes = new Map();
      // In a profile the instance may still use a type the profile removed: recognise every type name.
      for (const t of this.typeNames) choiceTypes.set(capitalize(t), t);
    }
    const valueLimits: NodeInfo['valueLimits'] = [];
    const durationLimits: DurationLimit[] = [];
    for (const key in ed) {
      if (!key.startsWith('minValue') && !key.startsWith('maxValue')) continue;
      const value = (ed as unknown as Record<string, unknown>)[key];
      if (isDurationLimit(key, node.types)) {
        if (isObject(value)) durationLimits.push({ min: key.startsWith('min'), duration: value });
      } else valueLimits.push({ key, value });
    }
    info = {
      constraints,
      bindings: bindings.length ? bindings : undefined,
      checkCard,
      checkTypes,
      allowedTypes,
      targets,
      contentRef,
      choiceTypes,
      valueLimits,
      durationLimits: durationLimits.length ? durationLimits : undefined,
      visit: true,
      underName: `_${node.name}`,
    };
    this.infos.set(node, info);
    info.visit = this.needsVisit(frame, node, info);
    return info;
  }

  /** The child names an expression mentions, or null when it must always be evaluated. */
  private constraintRefs(frame: Frame, node: ElementNode, expression: string): { ref: string; name: string }[] | null {
    if (contextDependent(expression)) return null;
    let children = node.children;
    if (!children.length && node.ed.contentReference) children = this.index(frame.tree).get(node.ed.contentReference.slice(1))?.children ?? [];
    if (!children.length && node.types.length === 1) children = this.baseTree(node.types[0].code)?.root.children ?? [];
    if (!children.length) return null;
    // Only identifiers that start a path can name a child of the context (`a.b`: a, not b).
    const tokens = new Set([...expression.matchAll(/(?<![.\w`$%])([A-Za-z_]\w*)/g)].map((m) => m[1]));
    const refs: { ref: string; name: string }[] = [];
    for (const child of children) {
      if (!tokens.has(child.name)) continue;
      // value[x]: any valueXxx property counts as present.
      if (child.choice) for (const t of child.types) refs.push({ ref: child.name + capitalize(t.code), name: child.name });
      else refs.push({ ref: child.name, name: child.name });
    }
    return refs;
  }

  private needsVisit(frame: Frame, node: ElementNode, info: NodeInfo): boolean {
    const complex = node.types.some((t) => !this.isPrimitive(t.code)) || node.children.length > 0 || !!info.contentRef;
    const own =
      info.constraints.length > 0 ||
      !!info.bindings ||
      !!info.targets ||
      info.valueLimits.length > 0 ||
      !!info.durationLimits ||
      node.ed.maxLength !== undefined ||
      node.types.some((t) => t.profiles.length > 0 || t.code === 'xhtml');
    if (!frame.profile) return own || complex;
    if (own || info.checkCard || info.checkTypes || node.fixed !== undefined || node.pattern !== undefined || node.slices.length) return true;
    return node.children.some((c) => this.info(frame, c).visit);
  }

  private isPrimitive(code: string): boolean {
    return this.registry.baseByType.get(code)?.kind === 'primitive-type' || code.startsWith('http://hl7.org/fhirpath/');
  }

  private index(tree: DefinitionTree): Map<string, ElementNode> {
    let map = this.pathIndex.get(tree);
    if (!map) {
      map = new Map();
      const walk = (n: ElementNode) => {
        if (!map!.has(n.path) && !n.sliceName) map!.set(n.path, n);
        n.children.forEach(walk);
      };
      walk(tree.root);
      this.pathIndex.set(tree, map);
    }
    return map;
  }

  private gather(node: ElementNode, info: NodeInfo, obj: Record<string, unknown>, path: string): readonly Item[] {
    if (node.choice) {
      const items: Item[] = [];
      for (const key in obj) {
        if (key.length <= node.name.length || !key.startsWith(node.name)) continue;
        const type = info.choiceTypes?.get(key.slice(node.name.length));
        if (!type) continue;
        const at = `${path}.${node.name}.ofType(${type})`;
        this.pushItems(items, obj[key], obj[`_${key}`], type, at);
      }
      return items;
    }
    const raw = obj[node.name];
    const under = obj[info.underName];
    if (raw === undefined && under === undefined) return NO_ITEMS;
    const items: Item[] = [];
    const type = info.contentRef || node.children.length ? 'BackboneElement' : (node.types[0]?.code ?? '');
    this.pushItems(items, raw, under, type, `${path}.${node.name}`);
    return items;
  }

  private pushItems(items: Item[], raw: unknown, under: unknown, type: string, at: string): void {
    if (Array.isArray(raw) || Array.isArray(under)) {
      const values = Array.isArray(raw) ? raw : [];
      const elems = Array.isArray(under) ? under : [];
      const n = Math.max(values.length, elems.length);
      for (let i = 0; i < n; i++) {
        const value = values[i] ?? undefined;
        const elem = isObject(elems[i]) ? (elems[i] as Record<string, unknown>) : undefined;
        if ((value === undefined || value === null) && !elem) continue;
        items.push({ value: value === null ? undefined : value, elem, type, path: `${at}[${i}]` });
      }
      return;
    }
    items.push({ value: raw, elem: isObject(under) ? under : undefined, type, path: at });
  }

  /** JSON property name -> the children it can belong to (by position), for walking by the instance's own keys. */
  private keyIndex(frame: Frame, node: ElementNode): Map<string, number[]> {
    let index = this.keyIndexes.get(node);
    if (index) return index;
    const m = new Map<string, number[]>();
    const add = (key: string, i: number) => {
      const at = m.get(key);
      if (at) at.push(i);
      else m.set(key, [i]);
    };
    node.children.forEach((child, i) => {
      if (child.choice) {
        for (const suffix of this.info(frame, child).choiceTypes?.keys() ?? []) {
          add(child.name + suffix, i);
          add(`_${child.name}${suffix}`, i);
        }
      } else {
        add(child.name, i);
        add(`_${child.name}`, i);
      }
    });
    this.keyIndexes.set(node, m);
    index = m;
    return index;
  }

  private walkChildren(frame: Frame, node: ElementNode, obj: Record<string, unknown>, path: string, env: WalkEnv): void {
    if (!frame.profile) {
      // Base definitions: nothing is checked on an absent child (the schema did cardinality), so only the
      // children the instance has are visited, in the definition's order as below.
      const index = this.keyIndex(frame, node);
      let present: number[] | undefined;
      for (const key in obj) {
        const at = index.get(key);
        if (at === undefined) continue;
        if (!present) present = [];
        for (const i of at) present.push(i);
      }
      if (present) {
        if (present.length > 1) present.sort((a, b) => a - b);
        let last = -1;
        for (const i of present) {
          if (i === last) continue;
          last = i;
          const child = node.children[i];
          const info = this.info(frame, child);
          if (!info.visit) continue;
          const items = this.gather(child, info, obj, path);
          if (!items.length) continue;
          if (child.slices.length) this.applySlicing(frame, child, items, path, env);
          else for (const item of items) this.checkItem(frame, child, info, item, env);
          if (child.name === 'extension' || child.name === 'modifierExtension') this.checkContexts(items, () => this.holder(frame, node, obj, path, env), env);
        }
      }
      this.primitiveExtensions(frame, node, obj, path, env);
      return;
    }
    for (const child of node.children) {
      const info = this.info(frame, child);
      if (!info.visit) continue;
      const items = this.gather(child, info, obj, path);
      if (frame.profile) {
        if (info.checkCard) {
          if (items.length < child.min)
            env.issues.push(
              issue('error', 'required', `${path}.${child.name}`, `${child.path}: minimum required = ${child.min}, but only found ${items.length} (from ${frame.tree.url})`),
            );
          if (items.length > child.max)
            env.issues.push(
              issue('error', 'structure', `${path}.${child.name}`, `${child.path}: max allowed = ${child.ed.max}, but found ${items.length} (from ${frame.tree.url})`),
            );
        }
        if (info.checkTypes) {
          for (const item of items) {
            if (!info.allowedTypes.has(item.type))
              env.issues.push(
                issue('error', 'structure', item.path, `${child.path}: the type ${item.type} is not allowed here; allowed: [${[...info.allowedTypes].join(', ')}] (from ${frame.tree.url})`),
              );
          }
        }
      }
      if (!items.length) continue;
      if (child.slices.length) this.applySlicing(frame, child, items, path, env);
      else for (const item of items) this.checkItem(frame, child, info, item, env);
    }
    if (!frame.profile) this.primitiveExtensions(frame, node, obj, path, env);
  }

  /** Extensions on primitives (`_birthDate.extension`) are checked against their definitions and contexts too. */
  private primitiveExtensions(frame: Frame, node: ElementNode, obj: Record<string, unknown>, path: string, env: WalkEnv): void {
    for (const key in obj) {
      if (key.charCodeAt(0) !== 95) continue;
      const v = obj[key];
      const list = Array.isArray(v) ? v : [v];
      list.forEach((el, i) => {
        if (!isObject(el) || !Array.isArray(el.extension)) return;
        const at = `${path}.${key.slice(1)}${Array.isArray(v) ? `[${i}]` : ''}`;
        const items: Item[] = [];
        (el.extension as unknown[]).forEach((ext, j) => {
          if (!isObject(ext)) return;
          this.checkExtension(ext, `${at}.extension[${j}]`, env, false);
          items.push({ value: ext, type: 'Extension', path: `${at}.extension[${j}]` });
        });
        this.checkContexts(items, () => this.primitiveHolder(frame, node, key.slice(1), at, env), env);
      });
    }
  }

  /**
   * Extensions whose definitions do not allow them where they are (StructureDefinition.context,
   * extensibility.html#context: "the extension SHALL only be used" there). `holder` is asked only
   * when a known extension is found.
   */
  private checkContexts(items: readonly Item[], holder: () => ExtensionHolder | undefined, env: WalkEnv): void {
    let h: ExtensionHolder | undefined | null = null;
    for (const item of items) {
      const url = isObject(item.value) ? item.value.url : undefined;
      const sd = typeof url === 'string' ? this.registry.structures.get(url) : undefined;
      if (sd?.type !== 'Extension') continue;
      if (h === null) h = holder();
      if (!h || contextAllows(sd, h)) continue;
      env.issues.push(
        issue('error', 'structure', item.path, `The extension ${url} is not allowed to be used at this point (allowed = ${describeContexts(sd)}; this element is [${h.paths.join(', ')}])`),
      );
    }
  }

  /** The element that holds the extensions of `obj`, walked as `node` of `frame`'s tree. */
  private holder(frame: Frame, node: ElementNode, obj: Record<string, unknown>, path: string, env: WalkEnv): ExtensionHolder | undefined {
    const root = node === frame.tree.root;
    const type = root ? frame.tree.type : node.types[0]?.code;
    if (!type) return undefined;
    return {
      paths: this.holderPaths(path, node.path, env),
      types: this.ancestry(type),
      url: root && type === 'Extension' && typeof obj.url === 'string' ? obj.url : undefined,
    };
  }

  /** The primitive element `name` of `node` (`birthDate`, or a choice's `valueString`), at `path`. */
  private primitiveHolder(frame: Frame, node: ElementNode, name: string, path: string, env: WalkEnv): ExtensionHolder | undefined {
    const at = this.keyIndex(frame, node).get(name)?.[0];
    const child = at === undefined ? undefined : node.children[at];
    if (!child) return undefined;
    const type = child.choice ? this.info(frame, child).choiceTypes?.get(name.slice(child.name.length)) : child.types[0]?.code;
    if (!type) return undefined;
    return { paths: this.holderPaths(path, child.path, env), types: this.ancestry(type) };
  }

  /** An element's path from its resource (when known) and from the definition it was walked by. */
  private holderPaths(instancePath: string, definitionPath: string, env: WalkEnv): string[] {
    // A choice element is named without its [x], as contexts name it (`Condition.onset`).
    definitionPath = definitionPath.replace(/\[x\]/g, '');
    const at = env.resourcePath;
    if (at === undefined || !instancePath.startsWith(at) || typeof env.resource.resourceType !== 'string') return [definitionPath];
    const fromResource = `${env.resource.resourceType}${elementPath(instancePath.slice(at.length))}`;
    return fromResource === definitionPath ? [definitionPath] : [fromResource, definitionPath];
  }

  /** A type and the types it specialises (`Age`, `Quantity`, `Element`, `Base`), from the base definitions. */
  private ancestry(type: string): string[] {
    let out = this.ancestries.get(type);
    if (out) return out;
    out = [...new Set([...this.registry.lineage(this.registry.baseByType.get(type))].map((sd) => sd.type))];
    if (!out.length) out.push(type);
    this.ancestries.set(type, out);
    return out;
  }

  private runConstraints(info: NodeInfo, value: Record<string, unknown>, path: string, env: WalkEnv): void {
    for (const run of info.constraints) {
      const c = run.c;
      let ok: boolean;
      if (run.refs && !mentions(value, run.refs, run.unders)) {
        if (run.whenAbsent === undefined) run.whenAbsent = c.run(value, env.resource, env.rootResource);
        ok = run.whenAbsent;
      } else if (run.refs) {
        let key = '';
        const presence = run.presence;
        for (let i = 0; i < run.refs.length; i++) {
          const name = run.refs[i];
          const under = run.unders[i];
          if (presence?.[i]) {
            if (value[name] !== undefined || value[under] !== undefined) key += `${name};`;
            continue;
          }
          if (value[name] !== undefined) key += `${name}=${JSON.stringify(value[name])};`;
          if (value[under] !== undefined) key += `${under}=${JSON.stringify(value[under])};`;
          if (key.length > MEMO_KEY_LIMIT) break;
        }
        if (key.length > MEMO_KEY_LIMIT) ok = c.run(value, env.resource, env.rootResource);
        else {
          const memo = (run.memo ??= new Map());
          const hit = memo.get(key);
          if (hit !== undefined) ok = hit;
          else {
            ok = c.run(value, env.resource, env.rootResource);
            if (memo.size >= MEMO_LIMIT) memo.clear();
            memo.set(key, ok);
          }
        }
      } else {
        ok = c.run(value, env.resource, env.rootResource);
      }
      if (!ok) env.issues.push(constraintFailed(c, path));
    }
  }

  /**
   * The constraints on a primitive element, run on its value: a profile's (the CCM profiles refuse a
   * consent or care-plan date given only to the month) and the few of the base (eld-3).
   */
  private runPrimitiveConstraints(info: NodeInfo, value: unknown, path: string, env: WalkEnv): void {
    for (const run of info.constraints) if (!run.c.run(value, env.resource, env.rootResource)) env.issues.push(constraintFailed(run.c, path));
  }

  private checkItem(frame: Frame, node: ElementNode, info: NodeInfo, item: Item, env: WalkEnv): void {
    const v = item.value;
    if (frame.profile && v !== undefined) {
      if (node.fixed !== undefined && !equalsFixed(v, node.fixed))
        for (const m of valueMismatches(v, node.fixed, item.path, true))
          env.issues.push(issue('error', 'value', m.path, `${m.message}: the fixed value is required (from ${frame.tree.url})`));
      if (node.pattern !== undefined && !matchesPattern(v, node.pattern))
        for (const m of valueMismatches(v, node.pattern, item.path, false))
          env.issues.push(issue('error', 'value', m.path, `${m.message}: the pattern is required (from ${frame.tree.url})`));
    }
    const maxLength = node.ed.maxLength;
    if (maxLength !== undefined && typeof v === 'string' && v.length > maxLength)
      env.issues.push(issue('error', 'too-long', item.path, `The value is ${v.length} characters long, more than the maxLength ${maxLength}`));
    for (const limit of info.valueLimits) this.checkLimit(limit, v, item.path, env);
    if (info.durationLimits) checkDurationLimits(info.durationLimits, v, item.path, env.issues);
    if (info.bindings) for (const binding of info.bindings) this.checkBinding(binding, item, env);
    if (info.targets && item.type === 'Reference' && isObject(v)) this.checkReference(info.targets, v, item.path, env);
    if (isObject(v)) {
      this.runConstraints(info, v, item.path, env);
      if (item.type === 'Resource' || this.registry.isResourceType(item.type)) return;
      const target = info.contentRef ?? node;
      // A profile reaching into a contained/entry resource: inside it, %resource is that resource
      // (the constraints on the element itself, run above, still see the outer one).
      if (target.children.length) this.walkChildren(frame, target, v, item.path, typeof v.resourceType === 'string' ? { ...env, resource: v } : env);
      else if (!frame.profile) {
        const tree = this.baseTree(item.type);
        if (tree) this.validate(tree, v, item.path, env);
        if (item.type === 'Extension') this.checkExtension(v, item.path, env, node.name === 'modifierExtension');
        else if (item.type === 'Coding') this.checkCoding(v, item.path, env);
        else if (item.type === 'Identifier') checkIdentifierSystem(v, item.path, env.issues);
      }
      for (const t of node.types) {
        if (t.code !== item.type && node.types.length > 1) continue;
        for (const p of t.profiles) {
          // Extension definitions are already applied by the base walk (checkExtension).
          if (item.type === 'Extension' && unversioned(p) === v.url) continue;
          this.applyProfile(p, v, item.path, env);
        }
      }
    } else if (v !== undefined && v !== null) {
      if (info.constraints.length) this.runPrimitiveConstraints(info, v, item.path, env);
      if (item.type === 'xhtml' && typeof v === 'string' && !frame.profile) {
        for (const p of checkNarrativeDiv(v)) env.issues.push(issue('error', 'invariant', item.path, `${p.key}: ${p.message}`));
      }
    }
  }

  private applyProfile(canonical: string, value: Record<string, unknown>, path: string, env: WalkEnv): void {
    const tree = this.tree(canonical);
    if (!tree) {
      env.issues.push(issue('warning', 'not-found', path, `Profile ${canonical} is not known here, so the value was not checked against it`));
      return;
    }
    this.validate(tree, value, path, env);
  }

  private checkExtension(ext: Record<string, unknown>, path: string, env: WalkEnv, modifier: boolean): void {
    const url = ext.url;
    if (typeof url !== 'string') return;
    const sd = this.registry.structures.get(url);
    if (sd?.type === 'Extension') {
      this.applyProfile(url, ext, path, env);
      return;
    }
    if (modifier)
      env.issues.push(issue('warning', 'extension', path, `Unknown modifier extension '${url}': it may change the meaning of the element`));
    else if (url.startsWith('http://hl7.org/fhir/StructureDefinition/'))
      env.issues.push(issue('warning', 'extension', path, `Unknown extension '${url}' in the FHIR core namespace`));
  }

  private checkCoding(v: Record<string, unknown>, path: string, env: WalkEnv): void {
    const system = v.system;
    const code = v.code;
    // A code system is named by an absolute URI (a scheme, then ':'): "LOINC" names nothing (Java: Terminology_TX_System_Relative).
    if (typeof system === 'string' && !isAbsoluteUri(system)) {
      env.issues.push(issue('error', 'invalid', `${path}.system`, `Coding.system must be an absolute reference, not a local reference ('${system.slice(0, 64)}')`));
      return;
    }
    if (typeof system !== 'string' || typeof code !== 'string') return;
    let codes = this.csCache.get(system);
    if (!codes) {
      codes = new Map();
      this.registry.ensureTerminology();
      const cs = this.registry.codeSystems.get(system);
      // Only the systems held here: for any other the answer is a map look-up anyway, and a
      // client's codes of 1,000 made-up systems (100,000 each) were remembered without end.
      if (cs && this.csCache.size < 1000) this.csCache.set(system, codes);
      // A supplement adds designations/properties to another code system: it is never a Coding's system.
      if (cs && (cs.content === 'supplement' || cs.supplements)) codes.set(SUPPLEMENT, false);
    }
    if (codes.has(SUPPLEMENT)) {
      env.issues.push(issue('error', 'not-found', `${path}.system`, `CodeSystem ${system} is a supplement, so can't be used as a value in Coding.system`));
      return;
    }
    let known = codes.get(code);
    if (known === undefined && !codes.has(code)) {
      known = this.terminology.codeSystemHas(system, code);
      // Codes a client made up are answered too: the answers kept are bounded over all systems.
      if (codes.size < 100000 && this.csCodes < MAX_CACHED_CODES) {
        codes.set(code, known);
        this.csCodes++;
      }
    }
    // A warning: an element without a required binding may still carry the code (required bindings check membership themselves).
    if (known === false) env.issues.push(issue('warning', 'code-invalid', `${path}.code`, `Unknown code '${code}' in the CodeSystem '${system}'`));
  }

  private checkBinding(binding: Binding, item: Item, env: WalkEnv): void {
    const codes = codesOf(item.value, item.type);
    const exp = this.terminology.expand(binding.valueSet);
    if (!exp) return;
    if (!codes.length) {
      if (binding.strength === 'required' && item.type === 'CodeableConcept')
        env.issues.push(issue('error', 'code-invalid', item.path, `No code provided, and a code is required from the value set '${exp.title}' (${binding.valueSet})`));
      return;
    }
    if (codes.some((c) => c.system === ''))
      env.issues.push(issue('warning', 'invalid', item.path, 'A coding has no system: a code without a system has no defined meaning, and cannot be checked against the value set'));
    const member = codes.some((c) => this.terminology.check(binding.valueSet, c.system, c.code) === 'member');
    if (member) return;
    const shown = codes.map((c) => (c.system ? `${c.system}#${c.code}` : c.system === '' ? `${c.code} with no system` : c.code)).join(', ');
    const extra = binding.additional ? ' (an additional binding)' : '';
    if (binding.strength === 'required')
      env.issues.push(issue('error', 'code-invalid', item.path, `The code provided (${shown}) is not in the value set '${exp.title}' (${binding.valueSet})${extra}, and a code from this value set is required`));
    else
      env.issues.push(issue('warning', 'code-invalid', item.path, `None of the codes provided (${shown}) are in the value set '${exp.title}' (${binding.valueSet})${extra}, and a code should come from this value set unless it has no suitable code (extensible binding)`));
  }

  private checkReference(targets: Set<string>, v: Record<string, unknown>, path: string, env: WalkEnv): void {
    const ref = v.reference;
    let type = typeof ref === 'string' ? this.typeNamedBy(ref, env) : undefined;
    // A urn:uuid: (or other untyped) reference has the type of what it resolves to, when that is here.
    if (!type && typeof ref === 'string' && env.references && checksReferenceType(env.references)) {
      const hit = env.targets?.find(ref);
      if (hit && typeof hit.resourceType === 'string') type = hit.resourceType;
    }
    if (!type && typeof v.type === 'string') type = v.type;
    if (type && !targets.has(type))
      env.issues.push(issue('error', 'structure', path, `Invalid Resource target type. Found ${type}, but expected one of (${[...targets].join(', ')})`));
  }

  /** validateReference CHECK_EXISTS and stronger: a reference this validator can judge must resolve here. */
  private checkResolves(v: Record<string, unknown>, path: string, env: WalkEnv): void {
    const ref = v.reference;
    if (typeof ref !== 'string' || ref.charCodeAt(0) === 35 || !mustResolveLocally(ref)) return;
    if (env.targets?.find(ref)) return;
    env.issues.push(issue('error', 'structure', path, `Unable to resolve resource with reference '${ref}'`));
  }

  /**
   * Reference.type: "If both Reference.type and Reference.reference are populated and
   * Reference.reference is a FHIR URL, both SHALL be consistent." Judged where the reference names
   * its type (Type/id, a URL ending so, Type?criteria, a transaction entry's urn:).
   */
  private checkReferenceTypeAgrees(v: Record<string, unknown>, path: string, env: WalkEnv): void {
    const ref = v.reference;
    const declared = v.type;
    if (typeof ref !== 'string' || typeof declared !== 'string') return;
    const named = declared.startsWith(CORE_SD) ? declared.slice(CORE_SD.length) : declared;
    if (!this.registry.isResourceType(named)) return;
    const type = this.typeNamedBy(ref, env);
    if (type && type !== named)
      env.issues.push(issue('error', 'invalid', path, `Reference.type '${declared}' does not agree with the reference '${ref.slice(0, 100)}', which names a ${type}`));
  }

  /**
   * The resource type a reference names, where it names one: a contained resource ('#id'), Type/id
   * (or a URL ending so), a conditional reference Type?criteria (transaction.html), or a
   * transaction entry's urn: fullUrl (env.referenceTypes).
   */
  private typeNamedBy(ref: string, env: WalkEnv): string | undefined {
    if (ref.startsWith('#')) {
      const hit = containedById(env.rootResource.contained, ref.slice(1));
      return hit && typeof hit.resourceType === 'string' ? hit.resourceType : undefined;
    }
    if (ref.startsWith('urn:')) return env.referenceTypes && Object.hasOwn(env.referenceTypes, ref) ? env.referenceTypes[ref] : undefined;
    const [path, query] = ref.split('?', 2);
    const m = REFERENCE_PATTERN.exec(path);
    if (m && this.registry.isResourceType(m[1])) return m[1];
    return query !== undefined && this.registry.isResourceType(path) ? path : undefined;
  }

  /** ref-1, done natively (it runs on every Reference): a local reference '#id' names a contained resource. */
  private checkLocalReference(v: Record<string, unknown>, path: string, env: WalkEnv): void {
    const ref = v.reference;
    if (typeof ref !== 'string' || ref.charCodeAt(0) !== 35) return;
    // '#' alone, in a contained resource, is its container (references.html#contained; dom-3 counts it).
    if (ref.length === 1 && env.resource !== env.rootResource) return;
    const id = ref.slice(1);
    if (containedById(env.rootResource.contained, id)) return;
    env.issues.push(
      issue('error', 'invariant', path, `Constraint failed: ref-1: 'SHALL have a contained resource if a local reference is provided' (no contained resource with id '${id}')`),
    );
  }

  /** Attachment.size is "the number of bytes of data ... before base64 encoding": it must match data. */
  private checkAttachmentSize(v: Record<string, unknown>, path: string, env: WalkEnv): void {
    if (typeof v.data !== 'string' || typeof v.size !== 'number') return;
    const actual = Buffer.from(v.data, 'base64').length;
    if (actual !== v.size)
      env.issues.push(issue('error', 'structure', path, `Stated Attachment size ${v.size} does not match the actual size of the data (${actual} bytes)`));
  }

  private checkLimit(limit: { key: string; value: unknown }, v: unknown, path: string, env: WalkEnv): void {
    const isMin = limit.key.startsWith('min');
    let actual: unknown = v;
    let bound: unknown = limit.value;
    if (isObject(v) && isObject(bound)) {
      actual = v.value;
      bound = bound.value;
    }
    if (actual === undefined || bound === undefined) return;
    const bad = isMin ? (actual as number | string) < (bound as number | string) : (actual as number | string) > (bound as number | string);
    if (typeof actual === typeof bound && bad)
      env.issues.push(issue('error', 'value', path, `The value ${String(actual)} is ${isMin ? 'below the minimum' : 'above the maximum'} allowed (${String(bound)})`));
  }

  private applySlicing(frame: Frame, node: ElementNode, items: readonly Item[], path: string, env: WalkEnv): void {
    const slicing = node.slicing;
    const discriminators = (slicing?.discriminators ?? []).map((d) => ({ type: d.type, steps: parseDiscriminatorPath(d.path), path: d.path }));
    const assigned = items.map((item) => node.slices.findIndex((s) => this.matchesSlice(s, item, discriminators, env)));
    node.slices.forEach((slice, i) => {
      const matched = items.filter((_, j) => assigned[j] === i);
      const at = `${path}.${node.name}`;
      if (matched.length < slice.min)
        env.issues.push(issue('error', 'required', at, `Slice '${node.path}:${slice.sliceName}': minimum required = ${slice.min}, but only found ${matched.length} (from ${frame.tree.url})`));
      if (matched.length > slice.max)
        env.issues.push(issue('error', 'structure', at, `Slice '${node.path}:${slice.sliceName}': max allowed = ${slice.ed.max}, but found ${matched.length} (from ${frame.tree.url})`));
      const sliceInfo = this.info(frame, slice);
      for (const item of matched) this.checkItem(frame, slice, sliceInfo, item, env);
    });
    const info = this.info(frame, node);
    items.forEach((item, j) => {
      if (assigned[j] >= 0) return;
      if (slicing?.rules === 'closed')
        env.issues.push(issue('error', 'structure', item.path, `This element does not match any known slice of ${node.path} and the slicing is closed (from ${frame.tree.url})`));
      else this.checkItem(frame, node, info, item, env);
    });
    if (slicing?.ordered || slicing?.rules === 'openAtEnd') {
      let last = -1;
      let seenOpen = false;
      items.forEach((item, j) => {
        const a = assigned[j];
        if (a < 0) {
          seenOpen = true;
          return;
        }
        if ((slicing.ordered && a < last) || (slicing.rules === 'openAtEnd' && seenOpen))
          env.issues.push(issue('error', 'structure', item.path, `The element is out of order for the slicing of ${node.path} (from ${frame.tree.url})`));
        last = Math.max(last, a);
      });
    }
  }

  private matchesSlice(slice: ElementNode, item: Item, discriminators: { type: string; steps: Step[]; path: string }[], env: WalkEnv): boolean {
    if (!discriminators.length) {
      // No discriminator: a value belongs to the slice it conforms to.
      const probe: WalkEnv = { ...env, issues: [] };
      const frame: Frame = { tree: { sd: null as never, url: '', type: '', root: slice, isBase: false }, profile: true };
      if (isObject(item.value)) this.walkChildren(frame, slice, item.value, item.path, probe);
      return !probe.issues.some((i) => i.severity === 'error');
    }
    for (const d of discriminators) {
      const values = evalPath({ value: item.value, type: item.type }, d.steps, this.typeNames);
      if (!values) continue;
      const def = nodeAtPath(slice, d.steps);
      if (d.type === 'value' || d.type === 'pattern') {
        let expected = def?.fixed ?? def?.pattern;
        const last = d.steps[d.steps.length - 1]?.name;
        if (expected === undefined && last === 'url') {
          const owner = d.steps.length === 1 ? slice : nodeAtPath(slice, d.steps.slice(0, -1));
          expected = owner?.types.find((t) => t.code === 'Extension')?.profiles[0];
          if (typeof expected === 'string') expected = unversioned(expected);
        }
        if (expected !== undefined) {
          if (!values.some((r) => matchesPattern(r.value, expected))) return false;
          continue;
        }
        const binding = def?.ed.binding;
        if (binding?.valueSet && binding.strength === 'required') {
          if (!this.terminology.expand(binding.valueSet)) continue;
          const member = values.some((r) =>
            codesOf(r.value, r.type ?? def?.types[0]?.code ?? '').some(
              (c) => this.terminology.check(binding.valueSet as string, c.system, c.code) === 'member',
            ),
          );
          if (!member) return false;
        }
      } else if (d.type === 'exists') {
        if (!def) continue;
        if (def.min > 0 && !values.length) return false;
        if (def.max === 0 && values.length) return false;
      } else if (d.type === 'type') {
        if (!def) continue;
        const types = new Set(def.types.map((t) => t.code));
        const typeOf = (r: { value: unknown; type?: string }) =>
          r.type ?? (isObject(r.value) && typeof r.value.resourceType === 'string' ? r.value.resourceType : item.type);
        if (!values.some((r) => types.has(typeOf(r)))) return false;
      } else if (d.type === 'profile') {
        const profiles = def?.types.flatMap((t) => t.profiles) ?? [];
        if (profiles.length && !values.some((r) => profiles.some((p) => this.conforms(p, r.value, env)))) return false;
      }
    }
    return true;
  }
}


/** An identifier's namespace is an absolute URI too: 'MRN' names nothing (Java: Type_Specific_Checks_DT_Identifier_System, an error). */
function checkIdentifierSystem(v: Record<string, unknown>, path: string, issues: Issue[]): void {
  const system = v.system;
  if (typeof system === 'string' && !isAbsoluteUri(system)) {
    issues.push(issue('error', 'code-invalid', `${path}.system`, `Identifier.system must be an absolute reference, not a local reference ('${system.slice(0, 64)}')`));
  }
}
