// Number formats shared by the handles, the pad, the list and the heatmap.

/** α with a sign and two decimals, "σ" when the direction is in σ units. */
export function formatAlpha(alpha, direction) {
  const a = Number(alpha) || 0;
  // ASCII signs so the text parses back with parseFloat (tests, copy-paste).
  const text = a === 0 ? "0.00" : `${a > 0 ? "+" : "-"}${Math.abs(a).toFixed(2)}`;
  return direction?.sigma != null ? `${text}σ` : text;
}

/** A score in at most ~4 characters of precision: 0.123, 12.3, 1.2e+5. */
export function formatScore(score) {
  if (score === null || score === undefined || !Number.isFinite(Number(score))) return "–";
  const s = Number(score);
  const abs = Math.abs(s);
  if (abs !== 0 && (abs >= 1e4 || abs < 1e-3)) return s.toExponential(1);
  return String(Number(s.toPrecision(3)));
}
