// EP13 code selection and EP14 complex notes, on minute totals only. Families are tried in the
// code table's order (complex, practitioner-only, staff for CCM); thresholds, increments and caps
// come from the table, so this file holds the policy, not the numbers.
import { codeDefinition, isEffective, type CodeTable, type FamilyDefinition, type Program } from './code-table.js';
import { decision, plural, type Decision } from './explain.js';
import type { MdmLevel } from './facts.js';
import { roundMinutes, sumMinutes } from './minutes.js';
import type { SelectionKey } from './reasons.js';

export interface SelectionInput {
  program: Program;
  year: number;
  staff: number;
  practitioner: number;
  mdm: MdmLevel | null;
  /** Care plan established (created) or substantially revised in the month (R4). */
  carePlanEstablishedOrRevised: boolean;
}

export interface SelectedLine {
  code: string;
  system: string;
  units: number;
  /** Minute range of the family's basis this line stands for: [from, to). */
  from: number;
  to: number;
}

export interface Selection {
  family: FamilyDefinition | null;
  /** The minutes the chosen family counts (M or P). */
  basis: number;
  lines: SelectedLine[];
  keys: SelectionKey[];
  decisions: Decision[];
}

function familyMinutes(f: FamilyDefinition, input: SelectionInput): number {
  return f.minutes === 'practitioner' ? input.practitioner : sumMinutes([input.staff, input.practitioner]);
}

function requirementsMet(table: CodeTable, f: FamilyDefinition, input: SelectionInput): boolean {
  return f.requires.every((r) =>
    r === 'no-staff-minutes' ? input.staff === 0 : input.mdm !== null && table.complexMdmLevels.includes(input.mdm) && input.carePlanEstablishedOrRevised,
  );
}

export function selectCodes(table: CodeTable, input: SelectionInput): Selection {
  const families = table.programs[input.program].families;
  const keys: SelectionKey[] = [];
  const decisions: Decision[] = [];
  let chosen: FamilyDefinition | null = null;
  let basis = 0;
  for (const f of families) {
    const base = codeDefinition(table, f.base);
    if (!isEffective(base, input.year)) continue;
    const minutes = familyMinutes(f, input);
    if (requirementsMet(table, f, input) && minutes >= (base.minMinutesFirst ?? 0)) {
      chosen = f;
      basis = minutes;
      break;
    }
  }

  const lines: SelectedLine[] = [];
  if (chosen) {
    const base = codeDefinition(table, chosen.base);
    const addon = codeDefinition(table, chosen.addon);
    const first = base.minMinutesFirst ?? 0;
    lines.push({ code: base.code, system: base.system, units: 1, from: 0, to: first });
    let units = 0;
    if (isEffective(addon, input.year) && addon.incrementMinutes) {
      const raw = Math.floor((basis - first) / addon.incrementMinutes);
      units = addon.maxUnitsPerMonth === null ? raw : Math.min(addon.maxUnitsPerMonth, raw);
      if (units < raw) {
        keys.push('unit_cap_applied');
        decisions.push(
          decision(
            `${addon.code} is capped at ${plural(addon.maxUnitsPerMonth ?? 0, 'unit')} a month (${addon.capSource}); ${roundMinutes(basis - first - units * addon.incrementMinutes)} further minutes are not billed`,
            { rules: [...addon.rules, 'R28', 'EP13'], key: 'unit_cap_applied', policy: addon.capIsEngineDefault, unconfirmed: addon.capIsEngineDefault },
          ),
        );
      }
      if (units > 0) lines.push({ code: addon.code, system: addon.system, units, from: first, to: first + units * addon.incrementMinutes });
    }
    const what = chosen.minutes === 'practitioner' ? `${basis} minutes of the practitioner's own time` : `${basis} countable minutes`;
    const why =
      chosen.requires.includes('complex-elements')
        ? `with ${input.mdm} medical decision making and a care plan established or substantially revised in the month, complex CCM is chosen first`
        : chosen.requires.includes('no-staff-minutes')
          ? 'with no staff minutes, the practitioner-time family follows who did the work'
          : 'all countable minutes are pooled into the staff-time family, as practitioner time may count as staff time';
    const leftover = roundMinutes(basis - (lines.at(-1)?.to ?? 0));
    const billed = lines.map((l) => `${l.code}×${l.units}`).join(' + ');
    decisions.push(
      decision(
        `${billed} for ${what}: ${why}; the first code needs ${first} minutes and each add-on unit a full ${addon.incrementMinutes ?? 0} more${leftover > 0 && !keys.includes('unit_cap_applied') ? `, so ${leftover} minutes below the next increment are not billed` : ''}`,
        { rules: [...chosen.rules, ...base.rules, ...addon.rules, 'R28'], policy: true },
      ),
    );
  } else {
    keys.push('insufficient_time');
    const needs = families
      .filter((f) => isEffective(codeDefinition(table, f.base), input.year))
      .filter((f) => !f.requires.includes('complex-elements'))
      .map((f) => `${f.base} needs ${codeDefinition(table, f.base).minMinutesFirst} ${f.minutes === 'practitioner' ? "practitioner-only " : ''}minutes`)
      .join('; ');
    decisions.push(
      decision(`Not enough countable minutes for any ${input.program} code (staff ${input.staff}, practitioner ${input.practitioner}; ${needs}): insufficient_time`, {
        rules: ['R28', 'R30', 'EP13'],
        key: 'insufficient_time',
      }),
    );
  }

  // EP14: why complex CCM was not billed, when one of its elements is present.
  const complex = families.find((f) => f.requires.includes('complex-elements'));
  if (complex && chosen !== complex && isEffective(codeDefinition(table, complex.base), input.year)) {
    const min = codeDefinition(table, complex.base).minMinutesFirst ?? 0;
    const m = familyMinutes(complex, input);
    const mdmOk = input.mdm !== null && table.complexMdmLevels.includes(input.mdm);
    const planOk = input.carePlanEstablishedOrRevised;
    const note = (key: SelectionKey, sentence: string) => {
      keys.push(key);
      decisions.push(decision(`${sentence}: ${key}`, { rules: ['R4', 'R24', 'R29', 'EP14'], key }));
    };
    if (mdmOk && planOk && m < min) note('complex_minimum_not_met', `Complex CCM elements are met but ${m} minutes is below the ${min}-minute minimum`);
    else if (planOk && !mdmOk && m >= min) note('complex_mdm_not_met', `The care plan was established or substantially revised and ${m} minutes were spent, but medical decision making was ${input.mdm ?? 'not recorded'}, below moderate`);
    else if (mdmOk && !planOk && m >= min) note('complex_care_plan_not_revised', `Medical decision making was ${input.mdm} and ${m} minutes were spent, but the care plan was neither established nor substantially revised in the month`);
  }
  return { family: chosen, basis, lines, keys, decisions };
}
