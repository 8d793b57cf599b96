// National non-facility payment amounts by CMS year (§11, rules/payment-amounts.json).
// Informational: the engine never decides anything on dollars.
import paymentsJson from './rules/payment-amounts.json' with { type: 'json' };

export interface PaymentCode {
  nonFacilityRvu: number | null;
  amounts: Record<string, number | null>;
  unconfirmed?: boolean;
  note?: string;
}

export interface PaymentYear {
  source: string;
  conversionFactors: Record<string, number>;
  defaultConversionFactor: string;
  codes: Record<string, PaymentCode>;
}

export interface PaymentTable {
  years: Record<string, PaymentYear>;
}

export const defaultPaymentTable: PaymentTable = paymentsJson as PaymentTable;

export interface PaymentEstimate {
  code: string;
  units: number;
  year: number;
  conversionFactor: string;
  /** null when the rules document gives no amount for that year. */
  amountPerUnit: number | null;
  total: number | null;
  unconfirmed: boolean;
}

/** National amount of `units` of `code` in the year of `month` (YYYY-MM); conversionFactor e.g. "qp" for CY2026 QPs. */
export function paymentEstimate(
  table: PaymentTable,
  code: string,
  units: number,
  month: string,
  conversionFactor?: string,
): PaymentEstimate {
  const year = Number(month.slice(0, 4));
  const y = table.years[String(year)];
  if (!y) throw new RangeError(`no payment amounts for CY${year}`);
  const cf = conversionFactor ?? y.defaultConversionFactor;
  if (!(cf in y.conversionFactors)) throw new RangeError(`CY${year} has no conversion factor "${cf}"`);
  const c = y.codes[code];
  const amount = c?.amounts[cf] ?? null;
  return {
    code,
    units,
    year,
    conversionFactor: cf,
    amountPerUnit: amount,
    total: amount === null ? null : Math.round(amount * units * 100) / 100,
    unconfirmed: c === undefined || amount === null || c.unconfirmed === true,
  };
}
