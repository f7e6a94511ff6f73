/** A number as people write one: digits, one dot, an exponent; no sign-less blanks, hex, NaN or Infinity. */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * The value as a finite number, or NaN. Number() alone takes "" and " " as 0, "0x10" as 16 and "1_0"
 * nowhere near what was meant: `--selection-hold-steps ''` was a hold of 0 steps. Shared by the exporters'
 * flag parsers and the sensors' own flags.
 */
export function decimalNumber(value: string): number {
  if (!DECIMAL.test(value)) return Number.NaN;
  const n = Number(value);
  return Number.isFinite(n) ? n : Number.NaN;
}
