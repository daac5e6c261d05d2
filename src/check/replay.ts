import type { Schedule } from '../runtime/schedule.js';
import type { Thread } from '../runtime/thread.js';
import { ReplayDivergence, ScheduleRanOut } from './errors.js';
import type { Execution, Outcome } from './execution.js';

export { ReplayDivergence, ScheduleRanOut };

import type { Strategy } from './strategy.js';

/**
 * Follows a recorded schedule exactly, choices and draws, and throws a
 * ReplayDivergence at the first point where it does not fit: a thread that
 * cannot run, a draw out of range, the schedule running out, or left over.
 */
export class ReplayStrategy implements Strategy {
  readonly name = 'replay';
  /** The one execution has begun. */
  private ran = false;

  constructor(private readonly schedule: Schedule) {}

  beginExecution(_x: Execution): boolean {
    if (this.ran) return false;
    this.ran = true;
    return true;
  }

  nextThread(x: Execution): Thread {
    const i = x.step;
    const ch = this.schedule.choices;
    const names = () =>
      x.eligible
        .slice(0, x.nEligible)
        .map((t) => t.name)
        .join(', ');
    if (i >= ch.length) {
      throw new ScheduleRanOut(`replay: the schedule ends after ${ch.length} steps, but ${names()} can still run`, ch.length);
    }
    const id = ch[i];
    const t = x.rt.threads[id];
    if (t === undefined) throw new ReplayDivergence(`replay: step ${i} names thread ${id}, which does not exist`);
    if (!x.isEligible(t)) {
      const why = t.state === 'runnable' ? 'spinning without progress' : t.state === 'blocked' ? `blocked on ${t.waitingFor}` : t.state;
      throw new ReplayDivergence(`replay: step ${i} runs ${t.name}, which is ${why}; eligible: ${names() || 'none'}`);
    }
    return t;
  }

  forcedStep(x: Execution, t: Thread): void {
    const want = this.schedule.choices[x.step];
    if (want === undefined) {
      throw new ScheduleRanOut(`replay: the schedule ends after ${x.step} steps, but ${t.name} can still run (a local step or a spin)`, x.step);
    }
    if (want !== t.id) {
      const who = x.rt.threads[want]?.name ?? `thread ${want}`;
      throw new ReplayDivergence(`replay: step ${x.step} is a local step or a spin of ${t.name}, but the schedule says ${who}`);
    }
  }

  nextDraw(x: Execution, n: number): number {
    const i = x.nDraws;
    const d = this.schedule.draws[i];
    if (d === undefined)
      throw new ReplayDivergence(
        `replay: the model asks for schedule.draws[${i}] (a value in [0, ${n})), but the schedule has ${i === 0 ? 'no draws' : `only ${i}`}`,
      );
    if (!(d >= 0 && d < n)) throw new ReplayDivergence(`replay: schedule.draws[${i}] is ${d}, out of [0, ${n}) where the model asks for it`);
    return d;
  }

  endExecution(x: Execution, outcome: Outcome): void {
    if (outcome === 'model-bug') return;
    if (x.step !== this.schedule.choices.length) {
      throw new ReplayDivergence(`replay: the execution ended (${outcome}) after ${x.step} steps, but the schedule has ${this.schedule.choices.length}`);
    }
    if (x.nDraws !== this.schedule.draws.length) {
      throw new ReplayDivergence(`replay: the model made ${x.nDraws} draws, but the schedule has ${this.schedule.draws.length}`);
    }
  }

  exhausted(): boolean {
    return this.ran;
  }
}
