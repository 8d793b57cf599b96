// Input handling shared by the CCM operations: parameters from the query and from a Parameters
// body, the month checks of the contract, paging tokens, and CcmInputError -> 400.
import type { OperationOutcomeIssue, ParametersParameter } from 'fhir/r4.js';
import { CcmInputError, isFutureMonth, isValidMonth, referenceTarget } from '../ccm/index.js';
import { badRequest, FhirError } from '../fhir/errors.js';
import type { Services } from '../rest/services.js';
import { LoopTurns } from '../rest/loop-turns.js';
import { practiceToday } from './ccm-config.js';
import { ccmRules, factsOf, patientsResources, type PatientFacts } from './ccm-facts-source.js';
import type { OperationCall } from './operation.js';
import { operationInputs, patientIdOf } from './parameters-shape.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

export interface CcmInput {
  month?: string;
  count?: number;
  page?: string;
  persist?: boolean;
  /** Patient ids (from `patient` references). */
  patients: string[];
  /** `Practitioner/{id}` (worklist filter). */
  practitioner?: string;
}

function patientId(value: string, where: string): string {
  const id = patientIdOf(value);
  if (id === undefined) throw badRequest(`'${value.slice(0, 100)}' is not a Patient reference`, 'value', where);
  return id;
}

function pageSize(value: string): number {
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1) throw badRequest(`Invalid _count '${value.slice(0, 30)}': a whole number from 1`, 'value', '_count');
  return Math.min(Number(value), MAX_PAGE_SIZE);
}

/**
 * The operation's parameters: query parameters, then (POST) the Parameters body.
 * `allowed` names the parameters this operation takes; others are refused (400).
 */
export function readInput(call: OperationCall, allowed: ReadonlySet<string>): CcmInput {
  const pairs = operationInputs(call);
  const input: CcmInput = { patients: [] };
  const once = new Set<string>();
  for (const [name, value, where] of pairs) {
    if (!allowed.has(name)) throw badRequest(`Unknown parameter '${name.slice(0, 60)}'`, 'not-supported', where);
    if (name !== 'patient') {
      if (once.has(name)) throw badRequest(`Parameter '${name}' may appear only once`, 'invalid', where);
      once.add(name);
    }
    switch (name) {
      case 'month':
        input.month = value;
        break;
      case '_count':
        input.count = pageSize(value);
        break;
      case '_page':
        input.page = value;
        break;
      case 'persist':
        if (value !== 'true' && value !== 'false') throw badRequest(`persist must be true or false, not '${value.slice(0, 30)}'`, 'value', where);
        input.persist = value === 'true';
        break;
      case 'patient':
        input.patients.push(patientId(value, where));
        break;
      case 'practitioner': {
        const t = referenceTarget({ reference: value.includes('/') ? value : `Practitioner/${value}` });
        if (!t?.startsWith('Practitioner/')) throw badRequest(`'${value.slice(0, 100)}' is not a Practitioner reference`, 'value', where);
        input.practitioner = t;
        break;
      }
    }
  }
  return input;
}

/** Today in the practice time zone (CCM_TIME_ZONE, default UTC). */
export function today(): string {
  return practiceToday();
}

/** The month asked for (or the current one), refused (400) when malformed, in the future or outside the rules' years. */
export function checkMonth(s: Services, month: string | undefined, todayDate: string, required = false): string {
  if (month === undefined) {
    if (required) throw badRequest('The month parameter (YYYY-MM) is required', 'required', 'month');
    month = todayDate.slice(0, 7);
  }
  if (!isValidMonth(month)) throw badRequest(`month '${month.slice(0, 30)}' is not YYYY-MM`, 'value', 'month');
  if (isFutureMonth(month, todayDate)) throw badRequest(`month ${month} is in the future (today is ${todayDate})`, 'value', 'month');
  const years = ccmRules(s).codes.coveredYears;
  if (!years.includes(Number(month.slice(0, 4)))) {
    throw badRequest(`month ${month}: the rules data covers calendar years ${years.join(', ')} only`, 'value', 'month');
  }
  return month;
}

/** CcmInputError -> 400 with one issue per problem; anything else is rethrown. */
export function mapCcmError(err: unknown, prefix?: string): never {
  if (err instanceof CcmInputError) {
    const issues: OperationOutcomeIssue[] = err.problems.map((p) => ({
      severity: 'error',
      code: 'invalid',
      diagnostics: `${prefix ? prefix + ': ' : ''}${p.path}: ${p.message}`,
      expression: [p.path],
    }));
    throw new FhirError(400, issues.length ? issues : [{ severity: 'error', code: 'invalid', diagnostics: err.message }]);
  }
  throw err;
}

/** Runs fn, turning a CcmInputError into a 400. */
export async function ccmGuard<T>(fn: () => Promise<T> | T, prefix?: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    return mapCcmError(err, prefix);
  }
}

/**
 * Patients whose resources are parsed and held at once. Smaller than a page: what is alive
 * together stays small enough for V8's young generation, so the parsed resources die there
 * instead of being copied at every scavenge and promoted to the old generation.
 */
const READ_CHUNK = 20;

/**
 * Facts of each patient of a chunk in the month, their resources read together (READ_CHUNK
 * patients per read) and let go once their facts are taken; undefined where the patient does
 * not exist (any more). An input error names the patient.
 */
export async function existingFactsOf(s: Services, ids: readonly string[], month: string): Promise<Array<PatientFacts | undefined>> {
  const out: Array<PatientFacts | undefined> = [];
  for (let at = 0; at < ids.length; at += READ_CHUNK) {
    const part = ids.slice(at, at + READ_CHUNK);
    const resources = await patientsResources(s, part);
    for (const id of part) {
      const r = resources.get(id);
      out.push(r ? await ccmGuard(() => factsOf(s, r, month), `Patient/${id}`) : undefined);
    }
  }
  return out;
}

export const encodePage = (value: string) => Buffer.from(value, 'utf8').toString('base64url');

export function decodePage(token: string): string {
  const value = /^[A-Za-z0-9_-]{1,400}$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
  if (!value || encodePage(value) !== token) throw badRequest('_page is not a page token this server issued', 'value', '_page');
  return value;
}

/** The `next` link parameter: the same call with _page set. */
export function nextParameter(s: Services, path: string, query: Array<[string, string]>, page: string): ParametersParameter {
  const qs = new URLSearchParams();
  for (const [k, v] of query) if (k !== '_page') qs.append(k, v);
  qs.append('_page', page);
  return { name: 'next', valueUri: `${s.config.baseUrl.replace(/\/+$/, '')}/${path}?${qs.toString()}` };
}

export interface Page<T> {
  items: T[];
  /** Token of the next page, when there may be more. */
  next?: string;
}

/**
 * Keyset paging over candidate ids in ascending order (`candidates(after)` streams those after a
 * page token's id): takes as many candidates as the page still needs plus one (to know whether
 * there is a next page), lets `pick` evaluate them together (one batch of reads), keeps what it
 * returns, and repeats until one more than the page size was found or the candidates ran out.
 * Only a chunk of candidates is ever held, never the month.
 */
export async function pageOver<T>(
  candidates: (after: string | undefined) => AsyncIterable<string>,
  count: number,
  token: string | undefined,
  pick: (ids: readonly string[]) => Promise<ReadonlyArray<T | undefined>>,
): Promise<Page<T>> {
  const after = token === undefined ? undefined : decodePage(token);
  const items: Array<{ id: string; item: T }> = [];
  const source = candidates(after)[Symbol.asyncIterator]();
  const turns = new LoopTurns();
  try {
    for (let exhausted = false; !exhausted && items.length <= count; ) {
      await turns.yieldIfDue();
      const ids: string[] = [];
      while (ids.length < count + 1 - items.length) {
        const next = await source.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        ids.push(next.value);
      }
      if (ids.length === 0) break;
      const picked = await pick(ids);
      ids.forEach((id, i) => {
        const item = picked[i];
        if (item !== undefined) items.push({ id, item });
      });
    }
  } finally {
    await source.return?.(undefined);
  }
  if (items.length > count) {
    const page = items.slice(0, count);
    return { items: page.map((i) => i.item), next: encodePage(page[page.length - 1].id) };
  }
  return { items: items.map((i) => i.item) };
}

/**
 * The ids of an async stream in arrays of `size` (the last one shorter). Between chunks, other
 * requests get to run every HOLD_MS (loop-turns.ts): a pass over a month's patients takes seconds.
 */
export async function* chunksOf(ids: AsyncIterable<string>, size: number): AsyncGenerator<string[]> {
  const turns = new LoopTurns();
  let chunk: string[] = [];
  for await (const id of ids) {
    chunk.push(id);
    if (chunk.length >= size) {
      await turns.yieldIfDue();
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length) yield chunk;
}
