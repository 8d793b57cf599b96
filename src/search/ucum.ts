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

/** How one unit code converts: a scale factor, or (special units such as Cel) UCUM's function. */
type Conversion = { unit: string; factor: number } | { unit: string; special: true };

const cache = new Map<string, Conversion | null>();
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
export function roundCanonical(v: number): number {
  return v === 0 ? 0 : Number(v.toPrecision(12));
}

function conversionOf(code: string): Conversion | null {
  if (!CODE_RE.test(code)) return null;
  const hit = cache.get(code);
  if (hit !== undefined) return hit;
  let conv: Conversion | null = null;
  try {
    const one = toBase(code, 1);
    if (one.status === 'succeeded' && typeof one.magnitude === 'number' && Number.isFinite(one.magnitude) && one.unitToExp) {
      const unit = Object.entries(one.unitToExp).map(([u, e]) => (e === 1 ? u : `${u}${e}`)).join('.') || '1';
      if (!one.fromUnitIsSpecial) conv = one.magnitude > 0 ? { unit, factor: one.magnitude } : null;
      else {
        // Special units are functions (Cel, [degF], [pH], B...). Only increasing ones keep the
        // order that prefixes compare on; [pH] (decreasing) stays matched by its code.
        const two = toBase(code, 2);
        conv = typeof two.magnitude === 'number' && two.magnitude > one.magnitude ? { unit, special: true } : null;
      }
    }
  } catch {
    conv = null;
  }
  if (cache.size < MAX_CACHED) cache.set(code, conv);
  return conv;
}

/** The canonical unit of a UCUM code (e.g. 'g' for 'mg', 'm-3.g' for 'mg/dL'), if UCUM can convert it. */
export function canonicalUnit(code: string): string | undefined {
  return conversionOf(code)?.unit;
}

/** `value code` in the canonical unit, or undefined when the code has no canonical form. */
export function toCanonical(code: string, value: number): number | undefined {
  const conv = conversionOf(code);
  if (!conv) return undefined;
  if ('factor' in conv) return roundCanonical(value * conv.factor);
  const r = toBase(code, value);
  return r.status === 'succeeded' && typeof r.magnitude === 'number' && Number.isFinite(r.magnitude) ? roundCanonical(r.magnitude) : undefined;
}

/** A converter for one code (for the several bounds of one query value), or undefined. */
export function canonicalConverter(code: string): { unit: string; convert: (v: number) => number } | undefined {
  const conv = conversionOf(code);
  if (!conv) return undefined;
  return {
    unit: conv.unit,
    convert: (v) => {
      const c = toCanonical(code, v);
      // a special unit's function may be undefined below its domain (e.g. under absolute zero)
      return c === undefined ? Number.NaN : c;
    },
  };
}
