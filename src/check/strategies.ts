import type { Schedule } from '../runtime/schedule.js';
import { type DfsOptions, DfsStrategy } from './dfs.js';
import { PctStrategy } from './pct.js';
import { PortfolioStrategy } from './portfolio.js';
import { RandomStrategy } from './random.js';
import { ReplayStrategy } from './replay.js';
import type { Strategy } from './strategy.js';

/** A strategy by name and settings, as a command line gives it. */
export type StrategySpec =
  | ({
      /** Systematic: stateless DFS with DPOR (DfsStrategy). */
      kind: 'dfs';
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
      /** PCT for a while, then DFS (PortfolioStrategy). */
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

/** Names of the strategies `makeStrategy` knows. */
export const STRATEGY_NAMES = ['auto', 'dfs', 'pct', 'random', 'replay'] as const;

/**
 * Builds a fresh strategy; `seed` feeds the random ones and the draws of dfs.
 * 'auto' is PCT for a while (shallow bugs in milliseconds), then DFS (which can
 * exhaust the space, but goes deep first).
 */
export function makeStrategy(spec: StrategySpec, seed: number): Strategy {
  switch (spec.kind) {
    case 'dfs':
      return new DfsStrategy({ ...spec, seed: spec.seed ?? seed });
    case 'pct':
      return new PctStrategy(seed, spec.depth ?? 3, spec.estimatedSteps ?? 0);
    case 'random':
      return new RandomStrategy(seed);
    case 'replay':
      return new ReplayStrategy(spec.schedule);
    case 'auto': {
      const { pctExecutions, kind: _, ...dfs } = spec;
      return new PortfolioStrategy([
        { strategy: new PctStrategy(seed, 3), executions: pctExecutions ?? 20_000 },
        { strategy: new DfsStrategy({ ...dfs, seed: dfs.seed ?? seed }), executions: Number.POSITIVE_INFINITY },
      ]);
    }
  }
}
