import type { Schedule } from '../runtime/schedule.js';
import type { Thread } from '../runtime/thread.js';
import type { Execution, Outcome } from './execution.js';
import type { Strategy } from './strategy.js';

/**
 * A lenient replay, for minimisation: follows `hint.choices` as a list of
 * preferences, skipping entries whose thread cannot run; once the list is used
 * up, keeps running the current thread as long as it can, else the lowest id.
 * Draws come from `hint.draws` while they last and fit, else 0. What actually
 * ran is in the Execution, and is a valid strict schedule.
 */
export class GuidedStrategy implements Strategy {
  readonly name = 'guided';
  private ran = false;
  private ptr = 0;

  constructor(private readonly hint: Schedule) {}

  beginExecution(_x: Execution): boolean {
    if (this.ran) return false;
    this.ran = true;
    this.ptr = 0;
    return true;
  }

  nextThread(x: Execution): Thread {
    const ch = this.hint.choices;
    const el = x.eligible;
    while (this.ptr < ch.length) {
      const id = ch[this.ptr++]!;
      for (let i = 0; i < el.length; i++) if (el[i]!.id === id) return el[i]!;
    }
    const p = x.prev;
    if (p !== null && el.includes(p)) return p;
    return el[0]!;
  }

  forcedStep(_x: Execution, t: Thread): void {
    // The hint recorded this step too: consume it when it is next.
    if (this.hint.choices[this.ptr] === t.id) this.ptr++;
  }

  nextDraw(x: Execution, n: number): number {
    const d = this.hint.draws[x.draws.length];
    return d !== undefined && d < n ? d : 0;
  }

  endExecution(_x: Execution, _outcome: Outcome): void {}

  exhausted(): boolean {
    return this.ran;
  }
}
