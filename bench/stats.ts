// Small order statistics for `npm run bench`.

export interface Summary {
  n: number;
  median: number;
  p90: number;
  min: number;
  max: number;
  mean: number;
}

/** Median (mean of the middle two for an even count), nearest-rank p90, min, max, mean. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('summarize: no samples');
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  const at = (i: number): number => s[Math.min(n - 1, Math.max(0, i))]!;
  const median = n % 2 === 1 ? at((n - 1) / 2) : (at(n / 2 - 1) + at(n / 2)) / 2;
  return {
    n,
    median,
    p90: at(Math.ceil(0.9 * n) - 1),
    min: at(0),
    max: at(n - 1),
    mean: s.reduce((a, b) => a + b, 0) / n,
  };
}

export const round1 = (x: number): number => Math.round(x * 10) / 10;
export const round2 = (x: number): number => Math.round(x * 100) / 100;
