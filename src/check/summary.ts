import type { BoundLevel } from './bound-levels.js';
import { grouped } from './grouped.js';

/** Why an exploration stopped. */
export type StopReason =
  /** a violation was found */
  | 'violation'
  /** the model threw */
  | 'model-bug'
  /** a systematic strategy ran its whole bounded space */
  | 'exhausted'
  /** maxExecutions were run */
  | 'max-executions'
  /** the wall-time budget ran out */
  | 'time-limit'
  /** the user interrupted it (SIGINT) */
  | 'interrupted'
  /** a part of a sharded exploration: another part found a violation at an earlier unit (never in a merged result) */
  | 'elsewhere'
  /** a merge of parts (mmulab merge) some of which are missing, the others having run all they had to (never in one part's result) */
  | 'parts-missing';

/** Figures of one exploration. Wall times are not part of deterministic output. */
export interface Summary {
  /** Strategy name. */
  strategy: string;
  /** Executions run (redundant and truncated ones included). */
  executions: number;
  /** The strategy covered its whole bounded space (dfs only). */
  exhausted: boolean;
  /** Why the exploration stopped. */
  stoppedBy: StopReason;
  /** Most steps in one execution. */
  maxDepth: number;
  /** Executions cut at maxSteps with nothing awaited (their tails were not explored). */
  truncated: number;
  /** Executions the strategy cut as equivalent to ones already run. */
  redundant: number;
  /** Wall time of the exploration, ms. */
  wallMs: number;
  /** Executions per second of wall time. */
  executionsPerSec: number;
  /** Wall time until the first counterexample was found, ms; null when none was. */
  firstCounterexampleMs: number | null;
  /**
   * Number of the violating execution in the unsharded exploration's order
   * (executions before it), or null: random and pct number executions 0, 1, 2…
   * in every part; a dfs part cannot know it (it depends on the other parts'
   * subtrees), so there it is null until the parts are merged.
   */
  violationExecution: number | null;
  /**
   * With a mutant: the executions counted in `executions` in which it acted
   * (made the model depart from the kernel's protocol at least once); 0 means
   * every one ran the unmutated protocol. Absent without a mutant, when no
   * execution ran, and when the exploration stopped at a violation or a model
   * bug (parts side by side run past it by timing; the counterexample's
   * mutantActed says whether the mutant acted in the one that matters).
   * Merged parts and phases sum it.
   */
  mutantActedExecutions?: number;
  /** dfs with an iterative preemption bound: what ran at each bound (absent otherwise). */
  preemptionBounds?: BoundLevel[];
}

/** One line for humans: "dfs: 1234 executions (exhausted), depth 40, 0.52 s, 2373 exec/s". */
export function formatSummary(s: Summary, merged = false): string {
  const parts = [
    `${s.strategy}: ${grouped(s.executions)} execution${s.executions === 1 ? '' : 's'} (${s.exhausted ? 'exhausted' : s.stoppedBy})`,
    `max depth ${s.maxDepth}`,
    // Merged parts (mmulab merge): their wall is the slowest part's, which ran alongside the others
    // or not; a rate of every part's executions over it would be no machine's, so none is printed.
    ...(merged ? [`${(s.wallMs / 1000).toFixed(2)} s (the slowest part's)`] : [`${(s.wallMs / 1000).toFixed(2)} s`, `${grouped(s.executionsPerSec)} exec/s`]),
  ];
  if (s.truncated > 0) parts.push(`${grouped(s.truncated)} truncated at maxSteps`);
  if (s.redundant > 0) parts.push(`${grouped(s.redundant)} redundant`);
  if (s.firstCounterexampleMs !== null) parts.push(`first counterexample after ${(s.firstCounterexampleMs / 1000).toFixed(3)} s`);
  return parts.join(', ');
}

/**
 * The levels of an iterative preemption bound, one line each:
 *   "at most 1 preemption: 370 executions, exhausted",
 *   "no bound (a try): 370 executions, not exhausted".
 */
export function formatBoundLevels(levels: readonly BoundLevel[]): string {
  return levels
    .map((l) => {
      const what = l.preemptionBound === null ? 'no bound (a try)' : `at most ${l.preemptionBound} preemption${l.preemptionBound === 1 ? '' : 's'}`;
      return `${what}: ${grouped(l.executions)} execution${l.executions === 1 ? '' : 's'}, ${l.exhausted ? 'exhausted' : 'not exhausted'}`;
    })
    .join('\n');
}
