import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { loadPackage } from '../../src/fhir/packages.js';
import { readTar } from '../../src/fhir/tar.js';
import { testDataDir } from './test-data.js';

const data = testDataDir();
t.test('US Core packages load from .tgz and from an unpacked folder', { skip: data ? false : 'FHIR_TEST_DATA not found' }, async (t) => {
  const tgz = join(data as string, 'us-core', 'us_core_610.tgz');
  const entries = readTar(readFileSync(tgz));
  t.ok(entries.some((e) => e.name.replace(/^\.\//, '') === 'package/package.json'), 'tar entries read');
  const pkg = loadPackage(tgz);
  t.equal(pkg.id, 'hl7.fhir.us.core#6.1.0');
  const sds = pkg.resources.filter((r) => r.resourceType === 'StructureDefinition');
  t.ok(sds.length > 50, `${sds.length} StructureDefinitions`);
  t.ok(pkg.resources.some((r) => r.resourceType === 'SearchParameter'));
  // Conformance resources only (no examples), the ImplementationGuide among them for its global profiles.
  const kept = new Set(['StructureDefinition', 'ValueSet', 'CodeSystem', 'SearchParameter', 'ImplementationGuide']);
  t.ok(pkg.resources.every((r) => kept.has(r.resourceType)), 'only conformance resources kept');
  t.equal(pkg.resources.filter((r) => r.resourceType === 'ImplementationGuide').length, 1, 'the guide itself');

  const dir = mkdtempSync(join(tmpdir(), 'pkg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const e of entries) {
    const out = join(dir, e.name);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, e.data);
  }
  const unpacked = loadPackage(dir);
  t.equal(unpacked.id, pkg.id);
  t.equal(unpacked.resources.length, pkg.resources.length, 'same resources from the folder');
});
