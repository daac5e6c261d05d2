import type { Outcome } from './execution.js';
import { PrefixTrace } from './prefix-trace.js';

/**
 * Counts the distinct Mazurkiewicz traces among the executions a DFS runs:
 * two executions are the same trace when one is the other with adjacent
 * steps that commute (their announced ops do not conflict) swapped. A trace
 * is named by PrefixTrace's hash of its steps, kept as a 53-bit number: a
 * collision between two of a million traces is about one chance in 10^4.
 *
 * Optimal DPOR runs each trace once: executions over distinct traces is how
 * many times over a bounded DFS runs them.
 */
export class TraceSet {
  private readonly seen = new Set<number>();
  /** The current execution's trace so far. */
  private readonly trace = new PrefixTrace();

  /** Distinct traces among the executions that ran to an end (not cut as redundant). */
  get size(): number {
    return this.seen.size;
  }

  /** Adds the next step of the current execution. */
  step(thread: number, op: number): void {
    this.trace.step(thread, op);
  }

  /** The keys of the traces seen. */
  keys(): IterableIterator<number> {
    return this.seen.keys();
  }

  /** True when the trace `key` (as `end` returned it) was seen. */
  has(key: number): boolean {
    return this.seen.has(key);
  }

  /**
   * Ends the current execution: a complete one (or one cut at maxSteps, or at
   * a violation) counts. Returns its trace's key, or null when it does not count.
   */
  end(outcome: Outcome): number | null {
    const t = this.trace;
    const key = outcome !== 'redundant' && outcome !== 'model-bug' ? t.lane1 * 2 ** 21 + (t.lane2 >>> 11) : null;
    if (key !== null) this.seen.add(key);
    t.reset();
    return key;
  }
}
