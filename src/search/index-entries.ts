/**
 * Shapes of the index entries stored under the search document's `idx` (the MongoDB
 * "attribute pattern": one array per value kind, each entry tagged with its parameter code `p`),
 * so that a few compound multikey indexes serve every parameter.
 */
export interface StrEntry { p: string; v: string; x: string }
export interface TokEntry { p: string; s?: string; c?: string; t?: string; ts?: string; tc?: string }
export interface DateEntry { p: string; lo: number; hi: number }
export interface NumEntry { p: string; lo: number; hi: number }
/** cu/clo/chi: the value in UCUM base units (canonical unit and bounds) when the unit is UCUM and convertible. */
export interface QtyEntry { p: string; lo: number; hi: number; s?: string; c?: string; u?: string; cu?: string; clo?: number; chi?: number }
export interface RefEntry { p: string; r: string }
export interface UriEntry { p: string; v: string }
/** Composite: the component values of one element, component i under `k<i>`. */
export interface CmpEntry { p: string; [component: `k${number}`]: unknown[] }

export interface SortKey { a: string | number; d: string | number }

/**
 * A contained resource that reference parameter `p` of its container points to (`#id`): its
 * type, id and own index values (without sort keys), so chained searches reach inside it.
 */
export interface CtdEntry { p: string; t: string; id: string; idx: Omit<Idx, 'srt' | 'ctd'> }

export interface Idx {
  str?: StrEntry[];
  tok?: TokEntry[];
  dt?: DateEntry[];
  num?: NumEntry[];
  qty?: QtyEntry[];
  ref?: RefEntry[];
  uri?: UriEntry[];
  cmp?: CmpEntry[];
  /** Sort keys per parameter: a = smallest value (ascending sorts), d = largest (descending). */
  srt?: Record<string, SortKey>;
  ctd?: CtdEntry[];
}

export type IdxField = Exclude<keyof Idx, 'srt' | 'ctd'>;

/** Which idx array holds each parameter type's values. */
export const FIELD_OF: Record<string, IdxField | undefined> = {
  string: 'str',
  token: 'tok',
  date: 'dt',
  number: 'num',
  quantity: 'qty',
  reference: 'ref',
  uri: 'uri',
  composite: 'cmp',
};
