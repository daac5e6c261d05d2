import type { Schedule } from '../runtime/schedule.js';
import { type DfsOptions, DfsStrategy } from './dfs.js';
import { PctStrategy } from './pct.js';
import { RandomStrategy } from './random.js';
import { ReplayStrategy } from './replay.js';
import type { Strategy } from './strategy.js';

/** A strategy by name and settings, as a command line gives it. */
export type StrategySpec =
  | ({ kind: 'dfs' } & DfsOptions)
  | {
      kind: 'pct';
      /** Bug depth d (default 3). */
      depth?: number;
      /** Initial estimate of the steps per execution (default: learnt from the first). */
      estimatedSteps?: number;
    }
  | { kind: 'random' }
  | {
      kind: 'replay';
      /** The schedule to follow. */
      schedule: Schedule;
    };

/** Names of the strategies `makeStrategy` knows. */
export const STRATEGY_NAMES = ['dfs', 'pct', 'random', 'replay'] as const;

/** Builds a fresh strategy; `seed` feeds the random ones and the draws of dfs. */
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
  }
}
