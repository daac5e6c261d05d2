import type { Schedule } from '../runtime/schedule.js';
import { type DfsOptions, DfsStrategy } from './dfs.js';
import { IterativeBoundStrategy } from './iterative-bound.js';
import { PctStrategy } from './pct.js';
import { PortfolioStrategy } from './portfolio.js';
import { RandomStrategy } from './random.js';
import { ReplayStrategy } from './replay.js';
import type { Shard } from './shard.js';
import type { Strategy } from './strategy.js';

/**
 * Subtrees the DFS split aims at for a sharded run: fixed up to 16 parts so
 * that any such sharding (and --shard 0/1) splits alike and their merged
 * results agree; four per part beyond, so that no part is left idle.
 */
export function splitPrefixes(parts: number): number {
  return Math.max(64, 4 * parts);
}

export { SHARED_STATES_PREFIXES } from './shared-state-cache.js';

/** A strategy by name and settings, as a command line gives it. */
export type StrategySpec =
  | ({
      /** Systematic: stateless DFS with DPOR (DfsStrategy). */
      kind: 'dfs';
      /**
       * Preemption bound 0, then 1, 2, … each exhausted in turn, up to
       * preemptionBound when given (IterativeBoundStrategy).
       */
      iterative?: boolean;
    } & DfsOptions)
  | {
      /** Probabilistic concurrency testing (PctStrategy). */
      kind: 'pct';
      /** Bug depth d (default 3). */
      depth?: number;
      /** Initial estimate of the steps per execution (default: learnt from the first). */
      estimatedSteps?: number;
    }
  | {
      /** A uniform random walk (RandomStrategy). */
      kind: 'random';
    }
  | ({
      /** PCT for a while, then DFS with an iterative preemption bound, up to preemptionBound if given (PortfolioStrategy). */
      kind: 'auto';
      /** Executions of PCT (depth 3) before DFS takes over (default 20000). */
      pctExecutions?: number;
    } & DfsOptions)
  | {
      /** Follows a recorded schedule (ReplayStrategy). */
      kind: 'replay';
      /** The schedule to follow. */
      schedule: Schedule;
    };

/** auto's first phase: PCT of this depth, for this many executions (unless the spec says). */
export const AUTO_PCT = { depth: 3, executions: 20_000 } as const;

/** Names of the strategies `makeStrategy` knows. */
export const STRATEGY_NAMES = ['auto', 'dfs', 'pct', 'random', 'replay'] as const;

/**
 * Builds a fresh strategy; `seed` feeds the random ones and the draws of dfs.
 * 'auto' is PCT for a while (shallow bugs in milliseconds), then DFS with an
 * iterative preemption bound (which can exhaust the space, bound by bound). With a `shard`, dfs splits its tree
 * (random and pct need nothing: explore strides over their executions);
 * auto and replay cannot be sharded.
 */
export function makeStrategy(spec: StrategySpec, seed: number, shard?: Shard | null): Strategy {
  if (shard != null && (spec.kind === 'auto' || spec.kind === 'replay')) throw new RangeError(`${spec.kind} cannot be sharded; use dfs, pct or random`);
  switch (spec.kind) {
    case 'dfs':
      if (spec.iterative === true) {
        if (shard != null) throw new RangeError('dfs with an iterative preemption bound cannot be sharded');
        return iterativeDfs(spec, seed);
      }
      return new DfsStrategy({
        ...spec,
        seed: spec.seed ?? seed,
        split: spec.split ?? (shard != null ? { shard, prefixes: splitPrefixes(shard.count) } : undefined),
      });
    case 'pct':
      return new PctStrategy(seed, spec.depth ?? 3, spec.estimatedSteps ?? 0);
    case 'random':
      return new RandomStrategy(seed);
    case 'replay':
      return new ReplayStrategy(spec.schedule);
    case 'auto':
      return new PortfolioStrategy([
        { strategy: new PctStrategy(seed, AUTO_PCT.depth), executions: spec.pctExecutions ?? AUTO_PCT.executions },
        { strategy: iterativeDfs(spec, seed), executions: Number.POSITIVE_INFINITY },
      ]);
  }
}

/** DFS with an iterative preemption bound, up to the spec's preemptionBound (unsplit). */
function iterativeDfs(spec: DfsOptions, seed: number): IterativeBoundStrategy {
  const { preemptionBound, split: _split, ...dfs } = spec;
  return new IterativeBoundStrategy({ ...dfs, seed: dfs.seed ?? seed }, preemptionBound);
}
