/**
 * Audit trail search: the day-partitioned, key-indexed file trail (src/audit/audit-log.ts) against
 * a full scan of the same events (what AuditEvent search did before: parse every stored event and
 * test it). Ratios in one run; times vary with the machine.
 *
 *   npx tsc -p tsconfig.build.json && node dist/scripts/bench-audit.js
 *   BENCH_EVENTS (default 100000) over BENCH_DAYS (default 10) days, 1,000 patients, 20 clients.
 * "cold" = a new process-like AuditLog (nothing in memory); the summaries of closed days are on
 * disk after the first case has loaded every day once.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent } from 'fhir/r4.js';
import { AuditLog } from '../src/audit/audit-log.js';
import { auditKeys, matchesKeys, parseAuditQuery, type AuditQuery } from '../src/audit/audit-query.js';
import { forEachLine } from '../src/audit/day-index.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const DAYS = Number(process.env.BENCH_DAYS ?? 10);
const START = Date.UTC(2026, 0, 1);

function event(n: number): AuditEvent {
  // Every patient on every day, except one seen on a single day (in 100 events).
  const patient = n >= 0.45 * EVENTS && n < 0.45 * EVENTS + 100 ? 'p-rare' : `p${(n * 7919) % 1000}`;
  return {
    resourceType: 'AuditEvent',
    id: `e${n}`,
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'Restful Operation' },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: n % 3 ? 'read' : 'search-type', display: 'read' }],
    action: n % 3 ? 'R' : 'E',
    recorded: new Date(START + Math.floor((n / EVENTS) * DAYS * 86_400_000)).toISOString(),
    outcome: n % 50 ? '0' : '4',
    outcomeDesc: 'HTTP 200',
    agent: [
      { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, who: { identifier: { system: 'urn:ietf:params:oauth:client-id', value: `client-${n % 20}` } }, requestor: true, network: { address: '10.0.0.1', type: '2' } },
      { type: { coding: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110152' }] }, who: { display: 'ccm-fhir-server' }, requestor: false, network: { address: 'http://localhost:8080/fhir', type: '5' } },
    ],
    source: { site: 'http://localhost:8080/fhir', observer: { display: 'ccm-fhir-server' }, type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4' }] },
    entity: [
      { what: { reference: `Condition/c${n}` }, type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2' }, role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '4' } },
      { what: { reference: `Patient/${patient}` }, type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1' }, role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1' } },
    ],
    extension: [{ url: 'urn:ccm-fhir-server:request-id', valueString: `req-${n}` }],
  };
}

/** The earlier search: every event of every file parsed and tested, newest first. */
async function fullScan(dir: string, q: AuditQuery): Promise<{ total: number; ids: string[] }> {
  const hits: AuditEvent[] = [];
  for (const f of readdirSync(dir).filter((x) => /^\d{4}-\d{2}-\d{2}\.ndjson$/.test(x))) {
    await forEachLine(join(dir, f), (line) => {
      const e = JSON.parse(line.toString('utf8')) as AuditEvent;
      if (matchesKeys(auditKeys(e), q)) hits.push(e);
    });
  }
  hits.sort((a, b) => b.recorded.localeCompare(a.recorded));
  return { total: hits.length, ids: hits.slice(0, q.count).map((e) => e.id!) };
}

async function time<T>(fn: () => Promise<T>, runs = 3): Promise<{ ms: number; result: T }> {
  let best = Infinity;
  let result!: T;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    result = await fn();
    best = Math.min(best, performance.now() - t0);
  }
  return { ms: best, result };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-audit-'));
  try {
    const writer = new AuditLog(dir);
    await writer.init();
    for (let n = 0; n < EVENTS; n++) {
      writer.append(event(n));
      if (n % 5000 === 4999) await writer.flush();
    }
    await writer.close();
    const day = new Date(START + 4 * 86_400_000).toISOString().slice(0, 10);
    const cases: Array<[string, string]> = [
      ['one day', `date=${day}&_count=50`],
      ['one patient (all days)', 'patient=p42&_count=50'],
      ['one client, one day, refused only', `agent=client-10&date=${day}&outcome=4&_count=50`],
      ['a patient seen on one day (all days searched)', 'patient=p-rare&_count=50'],
    ];
    console.log(`${EVENTS} events over ${DAYS} days`);
    for (const [name, query] of cases) {
      const q = parseAuditQuery(new URLSearchParams(query), 1000);
      const scan = await time(() => fullScan(dir, q), 2);
      const cold = await time(async () => {
        const log = new AuditLog(dir);
        const page = await log.search(q);
        await log.close();
        return page;
      }, 2);
      const log = new AuditLog(dir);
      await log.search(q);
      const warm = await time(() => log.search(q), 5);
      await log.close();
      const same = scan.result.total === warm.result.total && scan.result.ids.join() === warm.result.events.map((e) => e.id).join();
      console.log(
        `${name}: ${warm.result.total} matches; full scan ${scan.ms.toFixed(1)} ms, indexed cold ${cold.ms.toFixed(1)} ms (${(scan.ms / cold.ms).toFixed(1)}x), warm ${warm.ms.toFixed(2)} ms (${(scan.ms / warm.ms).toFixed(0)}x)${same ? '' : '  RESULTS DIFFER'}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
