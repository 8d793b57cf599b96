/** The part of @lhncbc/ucum-lhc (no type declarations of its own) that search uses. */
declare module '@lhncbc/ucum-lhc' {
  interface BaseUnitsResult {
    status: 'succeeded' | 'failed' | 'invalid' | 'error';
    magnitude?: number;
    /** Base unit symbol (m, s, g, rad, K, C, cd) → exponent, in UCUM's dimension order. */
    unitToExp?: Record<string, number>;
    fromUnitIsSpecial?: boolean;
    msg?: string[];
  }
  interface UcumLhcUtils {
    convertToBaseUnits(fromUnit: string, fromVal: number): BaseUnitsResult;
  }
  const ucum: { UcumLhcUtils: { getInstance(): UcumLhcUtils } };
  export default ucum;
}
