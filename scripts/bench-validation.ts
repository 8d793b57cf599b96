/**
 * Validation benchmark: start-up, memory, median time per Condition, Synthea throughput.
 * Run after a build: `npm run -s build && node --expose-gc dist/scripts/bench-validation.js`.
 * Machines here are shared and noisy: read the numbers as orders of magnitude.
 *
 *   FHIR_TEST_DATA   folder of the shared data (default ../shared/data)
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../src/project-root.js';
import { createValidator } from '../src/validation/validator.js';
import { syntheaResources } from './bench-kit.js';

const data = process.env.FHIR_TEST_DATA ?? join(projectRoot(), '..', 'shared', 'data');
if (!existsSync(data)) {
  console.log(`no test data at ${data}: nothing to measure`);
  process.exit(0);
}
const mb = (n: number) => `${Math.round(n / 1e6)} MB`;
const gc = (globalThis as { gc?: () => void }).gc;

let t = performance.now();
const validator = await createValidator({
  profileDirs: [join(projectRoot(), 'profiles')],
  packagePaths: [join(data, 'us-core', 'us_core_610.tgz'), join(data, 'us-core', 'us_core_700.tgz')],
});
console.log(`createValidator (R4 + profiles/ + US Core 6.1.0 and 7.0.0): ${Math.round(performance.now() - t)} ms`);

const resources = [...syntheaResources(data)];

t = performance.now();
let errors = 0;
for (const r of resources) errors += validator.validate(r).filter((i) => i.severity === 'error').length;
console.log(`Synthea, first pass (includes compiling each type on first use): ${resources.length} resources in ${Math.round(performance.now() - t)} ms, ${errors} errors`);
t = performance.now();
for (const r of resources) validator.validate(r);
const warm = performance.now() - t;
console.log(`Synthea, warm: ${resources.length} resources in ${Math.round(warm)} ms (${((1000 * warm) / resources.length).toFixed(1)} µs each)`);

const conditions = resources.filter((r) => r.resourceType === 'Condition');
const samples: number[] = [];
for (let round = 0; round < 20; round++) {
  for (const c of conditions) {
    const s = performance.now();
    validator.validate(c);
    samples.push(performance.now() - s);
  }
}
samples.sort((a, b) => a - b);
const q = (p: number) => samples[Math.floor(p * (samples.length - 1))];
console.log(`Condition (base + CCM auto profile): median ${(q(0.5) * 1000).toFixed(1)} µs, p99 ${(q(0.99) * 1000).toFixed(1)} µs over ${samples.length} runs`);

gc?.();
const mem = process.memoryUsage();
console.log(`memory after: rss ${mb(mem.rss)}, heap used ${mb(mem.heapUsed)}${gc ? '' : ' (run with --expose-gc for a settled number)'}`);
console.log(`note: the Synthea bundles themselves (${resources.length} parsed resources) are part of this heap`);
