import type { Weighted } from '../runtime/prng.js';
import type { Driver } from '../runtime/runtime.js';
import type { Thread } from '../runtime/thread.js';
import type { Execution } from './execution.js';
import type { Strategy } from './strategy.js';

/** The runtime driver of an execution: draws come from the strategy and are recorded; wakes are noted for happens-before. */
export function executionDriver(x: Execution, strategy: Strategy): Driver {
  return {
    draw(n: number, w?: Weighted): number {
      const v = strategy.nextDraw(x, n, w);
      x.recordDraw(v);
      return v;
    },
    woke(t: Thread): void {
      x.woke(t);
    },
  };
}
