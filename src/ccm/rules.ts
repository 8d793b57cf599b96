// The data the engine decides with, bundled so callers can load it once (at start-up) and
// override parts of it: the code table, the category table (profiles/) and payment amounts.
import { loadCategoryTable, type CategoryTable } from './categories.js';
import { defaultCodeTable, type CodeTable } from './code-table.js';
import { DEFAULT_TIME_ZONE } from './dates.js';
import { defaultPaymentTable, type PaymentTable } from './payments.js';

export interface CcmRules {
  codes: CodeTable;
  categories: CategoryTable;
  payments: PaymentTable;
}

export interface LoadRulesOptions {
  /** Folder with the category ConceptMap/ValueSet/CodeSystem; default: the repository's profiles/. */
  profilesDir?: string;
  codes?: CodeTable;
  payments?: PaymentTable;
}

const cache = new Map<string, CcmRules>();

export function loadCcmRules(options: LoadRulesOptions = {}): CcmRules {
  const key = options.profilesDir ?? '';
  let categories = cache.get(key)?.categories;
  if (!categories) {
    categories = loadCategoryTable(options.profilesDir);
    cache.set(key, { codes: defaultCodeTable, categories, payments: defaultPaymentTable });
  }
  return { codes: options.codes ?? defaultCodeTable, categories, payments: options.payments ?? defaultPaymentTable };
}

export interface EngineOptions {
  /** IANA practice time zone (EP2); default UTC. */
  timeZone?: string;
  /** Default: loadCcmRules(). */
  rules?: CcmRules;
}

export interface ResolvedOptions {
  timeZone: string;
  rules: CcmRules;
}

export function resolveOptions(options: EngineOptions = {}): ResolvedOptions {
  return { timeZone: options.timeZone ?? DEFAULT_TIME_ZONE, rules: options.rules ?? loadCcmRules() };
}
