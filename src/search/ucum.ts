/// <reference path="./ucum-lhc.d.ts" />
import ucum from '@lhncbc/ucum-lhc';

/**
 * UCUM canonical forms for quantity search: a value in any UCUM unit becomes a value in the
 * unit's base units (mg → g, [lb_av] → g, Cel → K, mmol/L → m-3), so `ge5|UCUM|g` finds a
 * stored `5000 mg`. The units and conversions come from UCUM's own definitions as shipped by
 * @lhncbc/ucum-lhc (read from the package, no network). Units UCUM cannot convert (arbitrary
 * units such as [IU], annotations-only nonsense, invalid codes) have no canonical form and are
 * matched by their code as written.
 */
export const UCUM_SYSTEM = 'http://unitsofmeasure.org';

/** How values in one unit code become values in its canonical unit (NaN outside a special unit's domain). */
export interface Converter {
  unit: string;
  convert: (v: number) => number;
}

const cache = new Map<string, Converter | null>();
/** Unit codes are bounded so the cache cannot be grown without limit by query strings. */
const MAX_CACHED = 10_000;

/** UCUM codes are printable ASCII without spaces (UCUM §1); anything else is not looked up. */
const CODE_RE = /^[\x21-\x7e]{1,64}$/;

let utils: ReturnType<typeof ucum.UcumLhcUtils.getInstance> | undefined;

/**
 * ucum-lhc prints some parse failures with console.log, unit string included; the server's
 * logs are pino lines only, so the (synchronous) call runs with console.log muted.
 */
function toBase(code: string, value: number) {
  utils ??= ucum.UcumLhcUtils.getInstance();
  const log = console.log;
  console.log = () => undefined;
  try {
    return utils.convertToBaseUnits(code, value);
  } finally {
    console.log = log;
  }
}

/**
 * Canonical values keep 12 significant digits: conversions through decimal factors leave
 * binary noise (5000 mg → 4.999999999999999 g) that would break `ge5`.
 */
function roundCanonical(v: number): number {
  return v === 0 ? 0 : Number(v.toPrecision(12));
}

/** The converter of a UCUM code (cached per code), or undefined when UCUM cannot convert it. */
export function ucumConverter(code: string): Converter | undefined {
  const hit = cache.get(code);
  if (hit !== undefined) return hit ?? undefined;
  if (!CODE_RE.test(code)) return undefined;
  let conv: Converter | null = null;
  try {
    const one = toBase(code, 1);
    if (one.status === 'succeeded' && typeof one.magnitude === 'number' && Number.isFinite(one.magnitude) && one.unitToExp) {
      const unit = Object.entries(one.unitToExp).map(([u, e]) => (e === 1 ? u : `${u}${e}`)).join('.') || '1';
      if (!one.fromUnitIsSpecial) {
        const factor = one.magnitude;
        conv = factor > 0 ? { unit, convert: (v) => roundCanonical(v * factor) } : null;
      } else {
        // Special units are functions (Cel, [degF], [pH], B...). Only increasing ones keep the
        // order that prefixes compare on; [pH] (decreasing) stays matched by its code.
        const two = toBase(code, 2);
        if (typeof two.magnitude === 'number' && two.magnitude > one.magnitude) {
          conv = {
            unit,
            convert: (v) => {
              const r = toBase(code, v);
              return r.status === 'succeeded' && typeof r.magnitude === 'number' && Number.isFinite(r.magnitude) ? roundCanonical(r.magnitude) : Number.NaN;
            },
          };
        }
      }
    }
  } catch {
    conv = null;
  }
  if (cache.size < MAX_CACHED) cache.set(code, conv);
  return conv ?? undefined;
}
