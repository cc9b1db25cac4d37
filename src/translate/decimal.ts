/**
 * A float as the shortest decimal that round-trips, never in exponent notation: Go's
 * `strconv.FormatFloat(v, 'f', -1, 64)`, which is how `le` bounds are written
 * (OTel spec §Histograms; otlptranslator). JavaScript's own `String()` switches to exponents
 * below 1e-6 and from 1e21 on (`1e-7`), which would give one bound two spellings.
 */
export function decimalString(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  const text = String(value);
  const e = text.indexOf('e');
  if (e < 0) return text;
  // `String()` already gives the shortest round-trip digits: only move the decimal point.
  const negative = text.startsWith('-');
  const mantissa = text.slice(negative ? 1 : 0, e);
  const exponent = Number(text.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  const pointAt = (dot < 0 ? mantissa.length : dot) + exponent;
  let out: string;
  if (pointAt <= 0) out = '0.' + '0'.repeat(-pointAt) + digits;
  else if (pointAt >= digits.length) out = digits + '0'.repeat(pointAt - digits.length);
  else out = digits.slice(0, pointAt) + '.' + digits.slice(pointAt);
  return (negative ? '-' : '') + out;
}
