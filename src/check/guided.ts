import type { Schedule } from '../runtime/schedule.js';
import type { Thread } from '../runtime/thread.js';
import type { Execution, Outcome } from './execution.js';
import type { Strategy } from './strategy.js';

/**
 * A lenient replay, for minimisation: follows `hint.choices` as a list of
 * preferred choices. An entry naming a thread that is done is dropped; one
 * naming a thread that cannot run yet (blocked, or spinning) is kept for
 * later, and the step goes to the next thread further down the list that can
 * run, else to the default: the current thread as long as it can run, else the
 * lowest id. The default also runs once the list is used up.
 * Draws come from `hint.draws` while they last and fit, else 0. What actually
 * ran is in the Execution, and is a valid strict schedule.
 */
/** How far down the hint to look for a thread that can run. */
const LOOK_AHEAD = 256;

export class GuidedStrategy implements Strategy {
  readonly name = 'guided';
  /** The one execution has begun. */
  private ran = false;
  /** Next entry of the hint to follow. */
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
    const threads = x.rt.threads;
    while (this.ptr < ch.length) {
      const t = threads[ch[this.ptr]];
      if (t === undefined || t.state === 'done') {
        this.ptr++;
        continue;
      }
      if (x.isEligible(t)) {
        this.ptr++;
        return t;
      }
      break;
    }
    // The next thread the hint names that can run, looking a little ahead.
    for (let i = this.ptr + 1, end = Math.min(ch.length, this.ptr + LOOK_AHEAD); i < end; i++) {
      const t = threads[ch[i]];
      if (t !== undefined && x.isEligible(t)) return t;
    }
    const p = x.prev;
    if (p !== null && x.isEligible(p)) return p;
    return x.eligible[0];
  }

  forcedStep(_x: Execution, t: Thread): void {
    // The hint recorded this step too: consume it when it is next.
    if (this.hint.choices[this.ptr] === t.id) this.ptr++;
  }

  nextDraw(x: Execution, n: number): number {
    const d = this.hint.draws[x.nDraws];
    return d !== undefined && d < n ? d : 0;
  }

  endExecution(_x: Execution, _outcome: Outcome): void {}

  exhausted(): boolean {
    return this.ran;
  }
}
