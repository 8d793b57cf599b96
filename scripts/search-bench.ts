/**
 * The search part of the benchmarks: the dataset Medplum was measured on here (5,000 Patients
 * with 10 Conditions each: 6 active, 3 resolved, 1 inactive), an optional scale set (10,000
 * patients, 100,000 Conditions, 200,000 Encounters), and the searches the targets name, each
 * reported against a read by id measured in the same run.
 */
import type { Pool } from 'undici';
import { call, measure as plainMeasure, measureServer, type Measure } from './bench-kit.js';

const SNOMED = ['44054006', '38341003', '195967001', '13645005', '49436004', '73211009', '414545008', '15777000', '271737000', '40055000'];

async function transact(pool: Pool, entry: unknown[]): Promise<Array<{ response: { location: string } }>> {
  const r = await call(pool, 'POST', '/fhir', JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }));
  if (r.status !== 200) throw new Error(`load failed: ${r.status} ${r.text.slice(0, 300)}`);
  return (JSON.parse(r.text) as { entry: Array<{ response: { location: string } }> }).entry;
}

function condition(subject: string, p: number, c: number): unknown {
  const status = c % 10 < 6 ? 'active' : c % 10 < 9 ? 'resolved' : 'inactive';
  return {
    resource: {
      resourceType: 'Condition',
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: status }] },
      verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
      code: { coding: [{ system: 'http://snomed.info/sct', code: SNOMED[(p + c) % SNOMED.length] }] },
      subject: { reference: subject },
      onsetDateTime: `20${String(10 + (c % 10)).padStart(2, '0')}-0${1 + (c % 9)}-15`,
      ...(status === 'resolved' ? { abatementDateTime: '2021-01-01' } : {}),
    },
    request: { method: 'POST', url: 'Condition' },
  };
}

function encounter(subject: string, p: number, e: number): unknown {
  const day = 1 + ((p + e) % 28);
  return {
    resource: {
      resourceType: 'Encounter',
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      type: [{ coding: [{ system: 'http://snomed.info/sct', code: '185349003' }] }],
      subject: { reference: subject },
      period: { start: `2025-${String(1 + (e % 12)).padStart(2, '0')}-${String(day).padStart(2, '0')}T10:00:00Z`, end: `2025-${String(1 + (e % 12)).padStart(2, '0')}-${String(day).padStart(2, '0')}T10:30:00Z` },
    },
    request: { method: 'POST', url: 'Encounter' },
  };
}

/** Loads `patients` patients with `conditions` Conditions and `encounters` Encounters each; returns the patient ids. */
export async function loadPatients(pool: Pool, patients: number, conditions: number, encounters: number, tag: string): Promise<string[]> {
  const ids: string[] = [];
  const perBundle = Math.max(1, Math.floor(1000 / (1 + conditions + encounters)));
  for (let b = 0; b < patients; b += perBundle) {
    const entry: unknown[] = [];
    const firsts: number[] = [];
    for (let p = b; p < Math.min(patients, b + perBundle); p++) {
      const full = `urn:uuid:00000000-0000-4000-8000-${String(p).padStart(12, '0')}`;
      firsts.push(entry.length);
      entry.push({ fullUrl: full, resource: { resourceType: 'Patient', identifier: [{ system: `urn:bench:${tag}`, value: String(p) }], gender: p % 2 ? 'male' : 'female' }, request: { method: 'POST', url: 'Patient' } });
      for (let c = 0; c < conditions; c++) entry.push(condition(full, p, c));
      for (let e = 0; e < encounters; e++) entry.push(encounter(full, p, e));
    }
    const resp = await transact(pool, entry);
    for (const i of firsts) ids.push(resp[i].response.location.split('/')[1]);
  }
  return ids;
}

/**
 * The searches of the targets, each with its share of the read rate and its p50 against a read's;
 * serverPid: the server's process, whose CPU per request is measured too (see measureServer).
 */
export async function measureSearches(pool: Pool, label: string, patientIds: string[], concurrency: number, serverPid?: number): Promise<Measure[]> {
  const measure: typeof plainMeasure = (...args) => measureServer(serverPid, ...args);
  const results: Measure[] = [];
  const readOp = async (i: number) => {
    const r = await call(pool, 'GET', `/fhir/Patient/${patientIds[i % patientIds.length]}`);
    if (r.status !== 200) throw new Error(`read failed: ${r.status}`);
    return 1;
  };
  const read = await measure(`read Patient by id (${label})`, concurrency, readOp);
  results.push(read);
  // The client shares the machine's two cores with the server: responses are parsed and fully
  // checked at the start, then only checked for their number of matches, so the client's JSON
  // parsing does not take CPU from the server being measured.
  const searchOf = async (name: string, path: (i: number) => string, check: (b: { total?: number; entry?: unknown[] }) => boolean) => {
    for (let i = 0; i < 20; i++) {
      const r = await call(pool, 'GET', path(i));
      if (r.status !== 200 || !check(JSON.parse(r.text))) throw new Error(`${name} failed: ${r.status} ${r.text.slice(0, 200)}`);
    }
    const expected = occurrences((await call(pool, 'GET', path(0))).text, '"search":{');
    // The read rate is measured again just before and just after the search, and the search is
    // compared with their mean: on a shared machine the speed drifts within a run, and a read
    // measured a minute earlier (the first one above) can differ from the search's moment by
    // more than the margin of a target. Both reads are printed, with the first-read ratio too.
    const before = await measure(`read Patient by id (${label}, before ${name})`, concurrency, readOp);
    const m = await measure(`${name} (${label})`, concurrency, async (i) => {
      const r = await call(pool, 'GET', path(i));
      if (r.status !== 200 || occurrences(r.text, '"search":{') !== expected) throw new Error(`${name} failed: ${r.status} ${r.text.slice(0, 200)}`);
      return 1;
    });
    const after = await measure(`read Patient by id (${label}, after ${name})`, concurrency, readOp);
    results.push(m);
    const around = (before.perSec + after.perSec) / 2;
    const cpuAround = (before.cpuUs! + after.cpuUs!) / 2;
    const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
    console.log(
      `# ${name} (${label}): ${pct(m.perSec / around)} of the read rate around it (reads ${before.perSec.toFixed(0)}/s before, ${after.perSec.toFixed(0)}/s after; ` +
        `${pct(m.perSec / read.perSec)} of the first read's); p50 ${(m.p50 / read.p50).toFixed(1)}x a read's; p99/p50 ${(m.p99 / m.p50).toFixed(1)}; ` +
        `server CPU ${m.cpuUs!.toFixed(0)} µs/request = ${(m.cpuUs! / cpuAround).toFixed(1)}x a read's around it`,
    );
  };
  // Latency unloaded (one request at a time): the population and _revinclude targets compare latencies.
  const read1 = await measure(`read Patient by id (${label})`, 1, readOp);
  results.push(read1);
  for (const [name, path] of [
    ['Condition?code=sct|44054006&_count=100', () => `/fhir/Condition?code=http://snomed.info/sct%7C44054006&_count=100`],
    ['Patient?_id=X&_revinclude=Condition:patient', (i: number) => `/fhir/Patient?_id=${patientIds[i % patientIds.length]}&_revinclude=Condition:patient`],
  ] as const) {
    const m = await measure(`${name} (${label})`, 1, async (i) => ((await call(pool, 'GET', path(i))).status === 200 ? 1 : 0));
    results.push(m);
    console.log(`# ${name} (${label}), one at a time: p50 ${(m.p50 / read1.p50).toFixed(1)}x a read's (target <= 5x); server CPU ${m.cpuUs!.toFixed(0)} µs/request = ${(m.cpuUs! / read1.cpuUs!).toFixed(1)}x a read's`);
  }
  await searchOf('Condition?patient=X&clinical-status=active', (i) => `/fhir/Condition?patient=Patient/${patientIds[i % patientIds.length]}&clinical-status=active`, (b) => b.total === 6);
  await searchOf('Condition?code=sct|44054006&_count=100', () => `/fhir/Condition?code=http://snomed.info/sct%7C44054006&_count=100`, (b) => (b.entry?.length ?? 0) === 100);
  await searchOf('Patient?_id=X&_revinclude=Condition:patient', (i) => `/fhir/Patient?_id=${patientIds[i % patientIds.length]}&_revinclude=Condition:patient`, (b) => (b.entry?.length ?? 0) === 11);
  return results;
}

function occurrences(text: string, what: string): number {
  let n = 0;
  for (let i = text.indexOf(what); i !== -1; i = text.indexOf(what, i + what.length)) n++;
  return n;
}
