import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ImplementationGuide, OperationOutcomeIssue, Resource, StructureDefinition } from 'fhir/r4.js';
import { loadPackage, loadProfileDir } from '../fhir/packages.js';
import { Applicability, readApplicabilityFile, rulesFromExtensions, type ApplicabilityRule } from './applicability.js';
import { checkBundle, checkDocumentReferences } from './bundle-rules.js';
import { checkContainedReferenced } from './contained.js';
import { InvariantCompiler } from './invariants.js';
import { issue, rerootIssues, type Issue } from './issues.js';
import { JAVA_DEFAULT_POLICIES, type ValidationPolicies } from './policies.js';
import { buildPrimitiveTypes } from './primitives.js';
import { LocalTargets } from './references.js';
import { DefinitionRegistry } from './registry.js';
import { StructureValidator } from './structure.js';
import { Terminology } from './terminology.js';
import { InstanceWalker, type WalkEnv } from './walker.js';

export { rerootIssues, hasErrors, toOperationOutcome } from './issues.js';

export interface ValidatorOptions {
  /** Folders of conformance resources (e.g. `profiles/`): StructureDefinitions, ValueSets, CodeSystems, SearchParameters. */
  profileDirs?: string[];
  /** FHIR packages: `.tgz` files, unpacked package folders, or folders holding either. */
  packagePaths?: string[];
  /** An unknown profile in meta.profile is an error instead of a warning. */
  strictProfiles?: boolean;
  /** Profiles the server applies to every resource of a type. */
  typeProfiles?: Record<string, string[]>;
  /** Optional checks (policies.ts); unset ones keep the Java validator's defaults. */
  policies?: Partial<ValidationPolicies>;
}

export interface ValidateCallOptions {
  profiles?: string[];
  /** Policies for this call, over the validator's own. */
  policies?: Partial<ValidationPolicies>;
  /**
   * The resource types that untyped references name (the `urn:uuid:` fullUrls of the other
   * entries of a transaction validated one entry at a time): checked against the targets an
   * element allows, as a `Type/id` reference is.
   */
  referenceTypes?: Readonly<Record<string, string>>;
}

const SEVERITY_RANK: Record<Issue['severity'], number> = { fatal: 0, error: 1, warning: 2, information: 3 };
/** Most issues one validation reports: past it, one more says how many were left out. */
export const MAX_REPORTED = 1000;

/** What one validate() call carries down to nested resources. */
interface CallContext {
  policies: ValidationPolicies;
  /** The Bundle/Parameters whose resources references may resolve to (only when references are resolved). */
  targets?: LocalTargets;
  /** Types of what untyped references name (ValidateCallOptions.referenceTypes, or a Bundle's own fullUrls). */
  referenceTypes?: Readonly<Record<string, string>>;
}

export interface Validator {
  /** Synchronous and fast: base + applicable profiles + invariants. */
  validate(resource: unknown, opts?: ValidateCallOptions): OperationOutcomeIssue[];
  knowsProfile(url: string): boolean;
  /** All StructureDefinitions/ValueSets/CodeSystems/SearchParameters loaded from profiles/ and IG packages. */
  conformanceResources(): Resource[];
}

/** Expands a package path: a .tgz, a package folder, or a folder of those. */
function packageFiles(path: string): string[] {
  if (!existsSync(path)) throw new Error(`FHIR package path not found: ${path}`);
  if (!statSync(path).isDirectory()) return [path];
  if (existsSync(join(path, 'package')) || existsSync(join(path, 'package.json'))) return [path];
  return readdirSync(path)
    .sort()
    .map((f) => join(path, f))
    .filter((f) => f.endsWith('.tgz') || (statSync(f).isDirectory() && existsSync(join(f, 'package'))));
}

/** ImplementationGuide.global: "a profile that all resources of this type must conform to" (added to typeProfiles). */
function withGlobalProfiles(typeProfiles: Record<string, string[]> | undefined, resources: readonly Resource[]): Record<string, string[]> | undefined {
  const globals = resources.flatMap((r) => (r.resourceType === 'ImplementationGuide' ? (r as ImplementationGuide).global ?? [] : []));
  if (!globals.length) return typeProfiles;
  const out: Record<string, string[]> = { ...typeProfiles };
  for (const g of globals) out[g.type] = [...(out[g.type] ?? []), g.profile];
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The validation engine: structure (ajv), base and profile snapshots, terminology, invariants. */
export class FhirValidator implements Validator {
  private readonly structure: StructureValidator;
  private readonly walker: InstanceWalker;
  readonly terminology: Terminology;
  readonly invariants = new InvariantCompiler();
  private applicability!: Applicability;
  private readonly policies: ValidationPolicies;

  constructor(
    private readonly registry: DefinitionRegistry,
    private readonly opts: ValidatorOptions,
    private readonly rules: ApplicabilityRule[],
    structure?: StructureValidator,
  ) {
    this.structure = structure ?? new StructureValidator(registry, buildPrimitiveTypes(registry));
    this.terminology = new Terminology(registry);
    const typeNames = new Set([...registry.baseByType.keys()].filter((t) => registry.baseByType.get(t)?.kind !== 'resource'));
    this.walker = new InstanceWalker(registry, this.terminology, this.invariants, typeNames);
    this.applicability = new Applicability(rules, (url) => registry.structures.get(url)?.type, this.terminology);
    this.policies = { ...JAVA_DEFAULT_POLICIES, ...opts.policies };
  }

  /**
   * A validator that also knows these conformance resources (e.g. a test's supporting profiles; an
   * ImplementationGuide among them makes its `global` profiles apply to every resource of their type);
   * it shares this one's compiled base schemas, so it is cheap to make.
   */
  extend(resources: Resource[]): FhirValidator {
    const registry = this.registry.fork();
    registry.ensureTerminology();
    for (const r of resources) registry.addLocal(r);
    const sds = resources.filter((r): r is StructureDefinition => r.resourceType === 'StructureDefinition');
    return new FhirValidator(registry, { ...this.opts, typeProfiles: withGlobalProfiles(this.opts.typeProfiles, resources) }, [...this.rules, ...rulesFromExtensions(sds)], this.structure);
  }

  knowsProfile(url: string): boolean {
    return this.walker.tree(url) !== undefined;
  }

  conformanceResources(): Resource[] {
    return [...this.registry.local];
  }

  validate(resource: unknown, opts: ValidateCallOptions = {}): Issue[] {
    if (!isRecord(resource) || typeof resource.resourceType !== 'string')
      return [issue('error', 'structure', 'Resource', 'A resource must be a JSON object with a resourceType')];
    const issues: Issue[] = [];
    const policies = opts.policies ? { ...this.policies, ...opts.policies } : this.policies;
    this.validateResource(resource, resource.resourceType, resource, issues, opts.profiles ?? [], { policies, referenceTypes: opts.referenceTypes });
    // What refuses the resource comes first (a client reads the first issue); otherwise in the order found.
    issues.sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity]);
    // A bounded answer: a body with 100,000 bad elements made an 11 MB OperationOutcome.
    if (issues.length <= MAX_REPORTED) return issues;
    const more = issues.length - MAX_REPORTED;
    const errors = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal').length;
    issues.length = MAX_REPORTED;
    issues.push(issue('information', 'too-costly', resource.resourceType, `${more} more issues are not listed (${errors} errors in all); the first ${MAX_REPORTED} are`));
    return issues;
  }

  /** The profiles that apply to a resource besides its base definition. */
  applicableProfiles(resource: Record<string, unknown>, requested: string[]): string[] {
    const meta = isRecord(resource.meta) ? resource.meta : undefined;
    const declared = Array.isArray(meta?.profile) ? (meta.profile as unknown[]).filter((p): p is string => typeof p === 'string') : [];
    const type = resource.resourceType as string;
    const all = [...requested, ...declared, ...(this.opts.typeProfiles?.[type] ?? []), ...this.applicability.profilesFor(resource)];
    return [...new Set(all)];
  }

  private validateResource(
    resource: Record<string, unknown>,
    path: string,
    rootResource: Record<string, unknown>,
    issues: Issue[],
    requested: string[],
    ctx: CallContext,
  ): void {
    const type = resource.resourceType;
    if (typeof type !== 'string' || !this.structure.knowsType(type)) {
      issues.push(issue('error', 'structure', path, `Unknown resource type '${String(type)}'`));
      return;
    }
    const structural = this.structure.validate(type, resource, ctx.policies);
    // A loop, not push(...): a spread passes every issue as an argument, and a body with 125,000
    // unknown keys overflowed the stack (a 500).
    for (const i of path === type ? structural : rerootIssues(structural, path)) issues.push(i);
    const references = ctx.policies.references;
    if (references !== 'IGNORE' && (type === 'Bundle' || type === 'Parameters')) ctx = { ...ctx, targets: new LocalTargets(resource) };
    // A transaction's urn: references become references to its entries (transaction.html): their
    // types are checked as the server's write does, whatever the reference policy (which, as Java's
    // validateReference, governs resolving references in other bundles).
    if (type === 'Bundle' && resource.type === 'transaction') ctx = { ...ctx, referenceTypes: { ...ctx.referenceTypes, ...entryTypes(resource) } };
    const env: WalkEnv = references === 'IGNORE' ? { resource, rootResource, issues, resourcePath: path } : { resource, rootResource, issues, references, targets: ctx.targets, resourcePath: path };
    if (ctx.referenceTypes) env.referenceTypes = ctx.referenceTypes;
    const base = this.walker.baseTree(type);
    if (base) this.walker.validate(base, resource, path, env);
    const declared = new Set(
      isRecord(resource.meta) && Array.isArray(resource.meta.profile) ? (resource.meta.profile as string[]) : [],
    );
    for (const url of this.applicableProfiles(resource, requested)) {
      const tree = typeof url === 'string' ? this.walker.tree(url) : undefined;
      if (!tree || !tree.sd.snapshot) {
        const strict = requested.includes(url) || (this.opts.strictProfiles && declared.has(url));
        issues.push(
          issue(strict ? 'error' : 'warning', 'not-found', `${path}.meta.profile`, `Profile ${url} is not known to this server, so the resource was not checked against it`),
        );
        continue;
      }
      if (tree.isBase && tree.type === type) continue;
      if (tree.type !== type) {
        issues.push(issue('error', 'invalid', `${path}.meta.profile`, `Profile ${url} is for ${tree.type}, not ${type}`));
        continue;
      }
      this.walker.validate(tree, resource, path, env);
    }
    // validateContains IGNORE: contained resources are not looked at, dom-3 included (as in the Java validator).
    if (ctx.policies.contained !== 'IGNORE') checkContainedReferenced(resource, path, issues);
    if (type === 'Bundle') {
      checkBundle(resource, path, issues, (t) => this.registry.isResourceType(t));
      checkDocumentReferences(resource, path, (t, pointer) => this.structure.toPath(t, pointer), issues);
    }
    this.validateNested(resource, type, path, rootResource, issues, ctx);
  }

  /** Resources inside resources are validated as their own type: contained, Bundle entries, Parameters. */
  private validateNested(resource: Record<string, unknown>, type: string, path: string, root: Record<string, unknown>, issues: Issue[], ctx: CallContext): void {
    const contained = resource.contained;
    if (Array.isArray(contained) && ctx.policies.contained !== 'IGNORE') {
      contained.forEach((c, i) => {
        if (!isRecord(c)) return;
        if (ctx.policies.contained === 'CHECK_VALID') this.validateResource(c, `${path}.contained[${i}]`, root, issues, [], ctx);
        else if (typeof c.resourceType !== 'string' || !this.structure.knowsType(c.resourceType))
          issues.push(issue('error', 'structure', `${path}.contained[${i}]`, `Unknown resource type '${String(c.resourceType)}'`));
      });
    }
    if (type === 'Bundle' && Array.isArray(resource.entry)) {
      resource.entry.forEach((e, i) => {
        if (isRecord(e) && isRecord(e.resource)) this.validateResource(e.resource, `${path}.entry[${i}].resource`, e.resource, issues, [], ctx);
      });
    }
    if (type === 'Parameters') this.validateParameters(resource.parameter, `${path}.parameter`, issues, ctx);
  }

  private validateParameters(params: unknown, path: string, issues: Issue[], ctx: CallContext): void {
    if (!Array.isArray(params)) return;
    params.forEach((p, i) => {
      if (!isRecord(p)) return;
      if (isRecord(p.resource)) this.validateResource(p.resource, `${path}[${i}].resource`, p.resource, issues, [], ctx);
      this.validateParameters(p.part, `${path}[${i}].part`, issues, ctx);
    });
  }

  /** Constraint expressions that fhirpath.js cannot run (skipped, see invariants.ts). */
  unsupportedConstraints(): ReadonlyMap<string, string> {
    return this.invariants.unsupported;
  }
}

/** Builds the validator: R4 core definitions, then IG packages, then profile folders (later wins on equal URLs). */
export async function createValidator(opts: ValidatorOptions = {}): Promise<FhirValidator> {
  const registry = DefinitionRegistry.core();
  for (const path of opts.packagePaths ?? []) {
    for (const file of packageFiles(path)) for (const r of loadPackage(file).resources) registry.addLocal(r);
  }
  const rules: ApplicabilityRule[] = [];
  const localSds: StructureDefinition[] = [];
  for (const dir of opts.profileDirs ?? []) {
    for (const r of loadProfileDir(dir)) {
      registry.addLocal(r);
      if (r.resourceType === 'StructureDefinition') localSds.push(r as StructureDefinition);
    }
    rules.push(...readApplicabilityFile(dir));
  }
  rules.push(...rulesFromExtensions(localSds));
  // The R4 value sets and code systems are needed by the first resource with a binding: read them now,
  // so that their ~100 MB of parse garbage is collected with the start-up's instead of inflating the
  // heap V8 sizes for the first requests.
  registry.ensureTerminology();
  // Packages and profile folders alike: their ImplementationGuides' global profiles.
  return new FhirValidator(registry, { ...opts, typeProfiles: withGlobalProfiles(opts.typeProfiles, registry.local) }, rules);
}

/** A Bundle's entries' resource types by their `urn:` fullUrls (what a reference to one names, whatever the policy). */
export function entryTypes(bundle: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(bundle.entry)) return out;
  for (const e of bundle.entry) {
    if (!isRecord(e) || typeof e.fullUrl !== 'string' || !e.fullUrl.startsWith('urn:') || !isRecord(e.resource)) continue;
    if (typeof e.resource.resourceType === 'string') out[e.fullUrl] = e.resource.resourceType;
  }
  return out;
}
