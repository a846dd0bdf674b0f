import type { DataEngine } from './engine.js';

/**
 * Exact statistics of weighted sorted values (a column's value counts) and of numeric queries, shared by
 * profile and check: quantiles with linear interpolation, counts at or below points, bins, robust
 * median/MAD, and the byte order DuckDB sorts strings in.
 */

/** UTF-8 byte order (DuckDB's VARCHAR order), for ties between equally frequent values. */
export function compareBytes(a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The value at 0-based position `r` of the sorted values described by (x, cumulative counts). */
function valueAt(x: readonly number[], cumulative: readonly number[], r: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((cumulative[mid] ?? 0) > r) hi = mid;
    else lo = mid + 1;
  }
  return x[lo] ?? NaN;
}

/** Exact quantiles (linear interpolation at h = (n − 1)·q, as quantile_cont and numpy) of weighted sorted values. */
export function quantilesOfCounts(x: readonly number[], n: readonly number[], levels: readonly number[]): number[] {
  const cumulative: number[] = [];
  let total = 0;
  for (const k of n) cumulative.push((total += k));
  if (total === 0) return [];
  return levels.map((q) => {
    const h = (total - 1) * q;
    const lo = valueAt(x, cumulative, Math.floor(h));
    const hi = valueAt(x, cumulative, Math.ceil(h));
    return lo + (h - Math.floor(h)) * (hi - lo);
  });
}

/** How many of the sorted values are at or below `p`. */
export function countAtOrBelow(x: readonly number[], cumulative: readonly number[], p: number): number {
  let lo = 0;
  let hi = x.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((x[mid] ?? 0) <= p) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? 0 : (cumulative[lo - 1] ?? 0);
}

/** PSI bin edges: the distinct interior deciles. */
export function binEdges(quantiles: readonly number[]): number[] {
  return [...new Set(quantiles.filter((_, i) => i > 0 && i < 100 && i % 10 === 0))].sort((a, b) => a - b);
}

export const doubleLiteral = (v: number): string => `CAST(${JSON.stringify(v)} AS DOUBLE)`;

/**
 * A SQL expression giving, for a value `v`, the index of the first of the ascending `points` that is
 * at or above it (points.length when none is): a binary search written as nested CASE, so a row costs
 * log2(points) comparisons instead of one per point.
 */
export function bucketSql(v: string, points: readonly number[]): string {
  const build = (lo: number, hi: number): string => {
    if (lo >= hi) return String(lo);
    const mid = (lo + hi) >> 1;
    return `CASE WHEN ${v} <= ${doubleLiteral(points[mid] ?? 0)} THEN ${build(lo, mid)} ELSE ${build(mid + 1, hi)} END`;
  };
  return build(0, points.length);
}

/** How many of a numeric query's values (column `v`) lie at or below each point; and how many there are. */
async function countsAtOrBelow(engine: DataEngine, valuesSql: string, points: readonly number[]): Promise<{ below: number[]; n: number }> {
  const sorted = [...new Set(points.filter((p) => !Number.isNaN(p)))].sort((a, b) => a - b);
  const rows = await engine.query(`SELECT ${bucketSql('v', sorted)} AS b, count(*) FROM (${valuesSql}) GROUP BY b`, 'counting values into bins');
  const perBucket = new Array<number>(sorted.length + 1).fill(0);
  for (const [b, n] of rows.rows as [number, bigint][]) perBucket[Number(b)] = Number(n);
  const atOrBelow = new Map<number, number>();
  let running = 0;
  for (const [i, p] of sorted.entries()) atOrBelow.set(p, (running += perBucket[i] ?? 0));
  const n = running + (perBucket[sorted.length] ?? 0);
  return { below: points.map((p) => atOrBelow.get(p) ?? 0), n };
}

/** Bin counts from the counts at or below each edge. */
export function binsOf(cumulative: readonly number[], n: number): number[] {
  const bins: number[] = [];
  let previous = 0;
  for (const c of cumulative) {
    bins.push(c - previous);
    previous = c;
  }
  bins.push(n - previous);
  return bins;
}

/** The median (linear interpolation) and scaled MAD of weighted values, and how many lie more than `mads` MADs from the median. */
export function robustStats(x: readonly number[], n: readonly number[], mads: number): { rows: number; median: number; mad: number; outliers: number } {
  const order = x.map((_, i) => i).sort((a, b) => (x[a] ?? 0) - (x[b] ?? 0));
  const xs = order.map((i) => x[i] ?? 0);
  const ns = order.map((i) => n[i] ?? 0);
  const rows = ns.reduce((s, k) => s + k, 0);
  const [median = NaN] = quantilesOfCounts(xs, ns, [0.5]);
  const dOrder = xs.map((_, i) => i).sort((a, b) => Math.abs((xs[a] ?? 0) - median) - Math.abs((xs[b] ?? 0) - median));
  const [mid = NaN] = quantilesOfCounts(dOrder.map((i) => Math.abs((xs[i] ?? 0) - median)), dOrder.map((i) => ns[i] ?? 0), [0.5]);
  const mad = mid * 1.4826;
  let outliers = 0;
  if (mad > 0) for (const [i, v] of xs.entries()) if (Math.abs(v - median) > mads * mad) outliers += ns[i] ?? 0;
  return { rows, median, mad, outliers };
}

/**
 * Counts a numeric query's values (column `v`) into bins (−∞, e0], (e0, e1], …, (ek, ∞) and at or
 * below each of `points`. Exact integer counts, in one pass.
 */
export async function binCounts(engine: DataEngine, valuesSql: string, edges: readonly number[], points: readonly number[]): Promise<{ bins: number[]; cdf: number[]; n: number }> {
  const { below, n } = await countsAtOrBelow(engine, valuesSql, [...edges, ...points]);
  return { bins: binsOf(below.slice(0, edges.length), n), cdf: below.slice(edges.length), n };
}
