import type { RunResult } from '../simulate/result.js';

/** A compare table row maker: a figure per run, undefined where the run has none (its column shows '-'). */
export type Metric = (name: string, f: (r: RunResult) => number | undefined) => string[];

/**
 * The rows of a block of figures some runs have and others lack (the dirty
 * ring's, access tracking's): none when no run has the block, and '-', not 0,
 * in the column of a run without it (a bitmap's under the ring's rows, EPT A/D
 * bits' or the shadow MMU's under access tracking's).
 */
export function blockRows<B>(
  runs: readonly RunResult[],
  metric: Metric,
  block: (r: RunResult) => B | undefined,
  rows: readonly [string, (b: B) => number][],
): string[][] {
  if (!runs.some((r) => block(r) !== undefined)) return [];
  return rows.map(([name, f]) =>
    metric(name, (r) => {
      const b = block(r);
      return b === undefined ? undefined : f(b);
    }),
  );
}
