// Numbers as the views print them: three significant digits, a real minus sign, exponents for the very
// small and large.

export function fmt(v: number, digits = 3): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  let text: string;
  if (a >= 1e4 || a < 1e-3)
    text = v
      .toExponential(digits - 1)
      .replace(/\.?0+e/, 'e')
      .replace('e+', 'e');
  else if (a >= 10 ** digits) text = v.toFixed(0);
  else text = String(Number(v.toPrecision(digits)));
  return text.replace(/-/g, '−');
}

/** A loss for the status line: more digits when small. */
export function fmtLoss(v: number): string {
  if (v === 0 || !Number.isFinite(v) || Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3) return fmt(v, 4);
  return v.toPrecision(4);
}
