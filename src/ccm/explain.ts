// One decision = one human sentence with the rule ids behind it and, where it came from time
// entries, their indexes in facts.timeEntries. Engine policies and ⚠ items are labelled in the
// sentence itself so that no reader takes them for settled Medicare policy.

export interface Decision {
  /** The sentence, ending with its rule ids in parentheses. */
  text: string;
  /** Rule and policy ids (R.., EP.., D..). */
  rules: string[];
  /** Indexes into facts.timeEntries behind the decision, when any. */
  entries?: number[];
  /** The reason key this decision produced, when any. */
  key?: string;
  /** True when the decision rests on an item the rules document marks ⚠ (unconfirmed). */
  unconfirmed?: boolean;
}

export interface DecisionInput {
  rules: string[];
  entries?: number[];
  key?: string;
  /** Adds "engine policy, not a Medicare rule" to the sentence. */
  policy?: boolean;
  /** Adds "unconfirmed ⚠" to the sentence. */
  unconfirmed?: boolean;
}

export function decision(sentence: string, input: DecisionInput): Decision {
  const labels: string[] = [];
  if (input.policy) labels.push('engine policy, not a Medicare rule');
  if (input.unconfirmed) labels.push('not confirmed against a primary CMS text ⚠');
  const body = sentence.replace(/\.$/, '');
  const label = labels.length ? ` [${labels.join('; ')}]` : '';
  const rules = [...new Set(input.rules)];
  const d: Decision = { text: `${body}${label} (${rules.join(', ')}).`, rules };
  if (input.entries && input.entries.length) d.entries = [...input.entries];
  if (input.key) d.key = input.key;
  if (input.unconfirmed) d.unconfirmed = true;
  return d;
}

export const plural = (n: number, word: string): string =>
  `${n} ${n === 1 ? word : word.endsWith('y') ? `${word.slice(0, -1)}ies` : `${word}s`}`;
