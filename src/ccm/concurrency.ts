// EP11: services billed in the month that block CCM/PCM lines (the patient stays eligible), and
// those that explicitly do not block, both read from the code table's concurrency section.
import type { CodeTable, ConcurrencyRule, Program } from './code-table.js';
import { decision, type Decision } from './explain.js';
import type { BlockKey } from './reasons.js';

export interface OtherService {
  code: string;
  /** Absent = billed by the same billing practitioner (EP1). */
  practitioner?: string;
}

export function parseOtherService(s: string): OtherService {
  const bar = s.indexOf('|');
  if (bar < 0) return { code: s.trim() };
  const practitioner = s.slice(bar + 1).trim();
  return practitioner ? { code: s.slice(0, bar).trim(), practitioner } : { code: s.slice(0, bar).trim() };
}

/** "Same practitioner" = a plain code, or one naming the EP7 choice; with nobody chosen only plain codes are the same. */
function matches(rule: ConcurrencyRule, s: OtherService, chosen: string | null): boolean {
  if (!rule.codes.includes(s.code)) return false;
  const same = s.practitioner === undefined || (chosen !== null && s.practitioner === chosen);
  if (rule.practitioner === 'same') return same;
  if (rule.practitioner === 'other') return !same;
  return true;
}

export interface ConcurrencyResult {
  blocks: BlockKey[];
  decisions: Decision[];
}

export function checkConcurrency(table: CodeTable, program: Program, services: readonly string[], chosen: string | null): ConcurrencyResult {
  const parsed = services.map(parseOtherService);
  const blocks: BlockKey[] = [];
  const decisions: Decision[] = [];
  const describe = (hits: OtherService[]) => [...new Set(hits.map((s) => (s.practitioner ? `${s.code} by ${s.practitioner}` : s.code)))].join(', ');
  for (const rule of table.concurrency.blocks) {
    if (!rule.programs.includes(program)) continue;
    const hits = parsed.filter((s) => matches(rule, s, chosen));
    if (hits.length === 0) continue;
    const key = rule.key as BlockKey;
    if (!blocks.includes(key)) blocks.push(key);
    decisions.push(
      decision(`${describe(hits)} billed in the month blocks ${program} lines for this month: ${key}`, {
        rules: rule.rules,
        key,
        policy: rule.unconfirmed,
        unconfirmed: rule.unconfirmed,
      }),
    );
  }
  for (const rule of table.concurrency.allowed) {
    if (!rule.programs.includes(program)) continue;
    const hits = parsed.filter((s) => matches(rule, s, chosen));
    if (hits.length === 0) continue;
    decisions.push(
      decision(`${describe(hits)}: ${rule.text ?? 'does not block'}`, { rules: rule.rules, policy: rule.unconfirmed, unconfirmed: rule.unconfirmed }),
    );
  }
  return { blocks, decisions };
}
