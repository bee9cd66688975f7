/** Order statistics over a sample; every benchmark reports medians and spreads, never single runs. */

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank: p99 of 50 samples is the largest one, never an interpolation below it.
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (values: readonly number[]): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** `median [min–max]`, the way every table cell shows a repeated measurement. */
export function spread(values: readonly number[], digits = 0): string {
  const fixed = (value: number) => value.toFixed(digits);
  if (values.length === 1) return fixed(values[0]!);
  return `${fixed(median(values))} [${fixed(Math.min(...values))}–${fixed(Math.max(...values))}]`;
}

/** Ratios of paired runs (same round, back to back), so drift of a shared machine cancels out. */
export function pairedRatios(numerators: readonly number[], denominators: readonly number[]): number[] {
  return numerators.map((value, index) => value / denominators[index]!);
}
