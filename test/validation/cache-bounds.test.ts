import t from 'tap';
import { createValidator } from '../../src/validation/validator.js';

/** The walker's caches, read for the test only (they are private). */
interface WalkerCaches {
  trees: Map<string, unknown>;
  csCache: Map<string, Map<string, unknown>>;
}

t.test('what a client names is not remembered by the validator', async (t) => {
  const validator = await createValidator();
  const walker = (validator as unknown as { walker: WalkerCaches }).walker;
  const known = (code: string) => ({ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code });
  validator.validate({ resourceType: 'Basic', meta: { profile: ['http://example.org/StructureDefinition/warm-up'] }, code: { coding: [known('active')] } });
  const trees = walker.trees.size;
  const systems = walker.csCache.size;
  for (let i = 0; i < 50; i++) {
    const issues = validator.validate({
      resourceType: 'Basic',
      meta: { profile: Array.from({ length: 100 }, (_, j) => `http://example.org/StructureDefinition/made-up-${i}-${j}`) },
      code: { coding: Array.from({ length: 100 }, (_, j) => ({ system: `http://example.org/cs/${i}-${j}`, code: `c${j}` })) },
    });
    if (i === 0) t.ok(issues.some((x) => x.severity === 'warning' && /is not known to this server/.test(x.diagnostics ?? '')), 'an unknown profile is still reported');
  }
  t.equal(walker.trees.size, trees, '5,000 unknown profile URLs left no entries');
  t.equal(walker.csCache.size, systems, '5,000 unknown code systems left no entries');
  // Codes of a system held here are remembered, up to a bound over all systems.
  for (let i = 0; i < 300; i++) validator.validate({ resourceType: 'Basic', code: { coding: Array.from({ length: 1000 }, (_, j) => known(`made-up-${i}-${j}`)) } });
  const codes = [...walker.csCache.values()].reduce((n, m) => n + m.size, 0);
  t.ok(codes <= 200_001, `codes remembered: ${codes}`);
  const unknown = validator.validate({ resourceType: 'Basic', code: { coding: [known('made-up-0-0')] } });
  t.ok(unknown.some((x) => /Unknown code 'made-up-0-0'/.test(x.diagnostics ?? '')), 'an unknown code is still reported');
});
