import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import type { Percentiles } from './result.js';

/** Distinct values counted exactly before the percentiles fall back to the histogram. */
export const EXACT_DISTINCT = 4096;

/**
 * A distribution of durations, ns, in bounded memory. The count, min and max
 * are exact. Percentiles are exact (percentileRank) while the samples take at
 * most EXACT_DISTINCT distinct values — the model's durations are sums of a
 * few costs, so they usually do — and past that they come from an HDR
 * histogram with 3 significant figures: the top of the sample's bucket, at
 * most 0.1% above it (never above max), exact below 2048 ns.
 */
/**
 * The 1-based rank of the p-th percentile (0 < p <= 100) of `count` sorted
 * values: p% of count rounded half up, at least 1. The rank HDR Histogram
 * uses, so that exact and histogram figures agree for the same samples (up to
 * its buckets); charts of a distribution use it too, so that they show the
 * figures the JSON has.
 */
export function percentileRank(p: number, count: number): number {
  return Math.max(1, Math.floor((p / 100) * count + 0.5));
}

export class Distribution {
  /** Samples recorded. */
  count = 0;
  /** Smallest sample (Infinity while empty). */
  min = Number.POSITIVE_INFINITY;
  /** Largest sample (0 while empty). */
  max = 0;
  /** Samples per distinct value while there are few enough; null once past EXACT_DISTINCT. */
  private exact: Map<number, number> | null = new Map();
  /** The estimate once `exact` is dropped (HDR keeps values of at least 1). */
  private hist: RecordableHistogram | null = null;

  /** Records one duration, rounded to the ns. */
  record(ns: number): void {
    const v = Math.round(ns);
    this.count++;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    const exact = this.exact;
    if (exact === null) {
      this.hist!.record(Math.max(1, v));
      return;
    }
    exact.set(v, (exact.get(v) ?? 0) + 1);
    if (exact.size > EXACT_DISTINCT) this.toHistogram(exact);
  }

  /** True while the percentiles are exact. */
  get percentilesExact(): boolean {
    return this.exact !== null;
  }

  /** The p-th percentile (0 < p <= 100), the value at percentileRank, 0 when empty; an estimate past EXACT_DISTINCT values (above). */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    if (this.exact === null) return Math.min(this.max, Math.max(this.min, this.hist!.percentile(p)));
    const rank = percentileRank(p, this.count);
    let seen = 0;
    for (const v of [...this.exact.keys()].sort((a, b) => a - b)) {
      seen += this.exact.get(v)!;
      if (seen >= rank) return v;
    }
    return this.max;
  }

  /** p50, p90, p99 and max; all 0 when empty. */
  summary(): Percentiles {
    return { p50: this.percentile(50), p90: this.percentile(90), p99: this.percentile(99), max: this.max };
  }

  /** Moves the samples counted so far into the histogram (once: at most `count` records). */
  private toHistogram(exact: Map<number, number>): void {
    const hist = createHistogram();
    for (const [v, n] of exact) for (let i = 0; i < n; i++) hist.record(Math.max(1, v));
    this.hist = hist;
    this.exact = null;
  }
}
