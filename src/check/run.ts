import type { Instance, Violation } from '../runtime/instance.js';
import type { Schedule } from '../runtime/schedule.js';
import type { Thread } from '../runtime/thread.js';
import { InputError } from '../scenario/input-error.js';
import { executionDriver } from './driver.js';
import { CheckerError } from './errors.js';
import { Execution, type Outcome } from './execution.js';
import type { InstanceFactory } from './factory.js';
import { runRecordedSteps } from './recorded-steps.js';
import type { RetryRule, SpinProgress } from './spin.js';
import type { Strategy } from './strategy.js';

/** Bounds and switches of one execution. */
export interface RunLimits {
  /** Steps after which the execution is cut: a livelock if an awaited event is still pending. */
  maxSteps: number;
  /** Spinning threads that made no progress are not scheduled; livelock when nothing else can run. */
  fairSpin: boolean;
  /** What counts as progress for a spinning thread (default 'footprint'). */
  spinProgress?: SpinProgress;
  /** When a thread that spun goes round again (default 'deferred'). */
  retries?: RetryRule;
}

/**
 * Runs the execution prepared in `x` (x.start was called) to its end, asking
 * `strategy` for every choice: until every thread is done, a violation
 * appears (checked after each step), nothing can run (deadlock or livelock),
 * maxSteps is reached, or the strategy cuts it. Steps whose announced op is
 * LOCAL or SPIN are not choices: the first eligible thread with one runs it at
 * once. `rebuild`: the factory of an instance built without tracking awaited
 * events (InstanceOptions.progress), which a cut run then replays to say what
 * is pending.
 */
export function runExecution(x: Execution, strategy: Strategy, limits: RunLimits, rebuild: InstanceFactory | null = null): Outcome {
  const inst = x.inst;
  const rt = x.rt;
  const maxSteps = limits.maxSteps;
  x.configure(limits.fairSpin, limits.spinProgress ?? 'footprint', limits.retries ?? 'deferred');
  // Only the model's own code is guarded: an exception there is a model bug;
  // one from the strategy (or the checker) goes through to the caller.
  for (;;) {
    if (inst.violations.length > 0) return 'violation';
    x.computeEligible();
    if (x.nEligible === 0) {
      try {
        if (rt.allDone()) {
          inst.finish();
          return inst.violations.length > 0 ? 'violation' : 'complete';
        }
        if (x.stuck > 0) {
          if (x.grantProbation()) continue;
          reportSpinLivelock(x, rebuild);
        } else reportDeadlock(x);
      } catch (e) {
        return modelBug(x, e);
      }
      return 'violation';
    }
    if (x.step >= maxSteps) {
      let pending: string | null;
      try {
        pending = pendingOf(x, rebuild);
      } catch (e) {
        return modelBug(x, e);
      }
      // Under the fair-spin rules a retrying thread yields to every thread
      // that can run, so a livelock starves nobody. A thread that could run
      // and was left out for the last quarter of the steps (PCT's lowest
      // priority, DFS running one thread on while it makes progress) makes
      // the cut unfair: the work pending may be that thread's.
      if (pending === null || (x.fairSpin && x.starved(maxSteps >> 2))) return 'truncated';
      x.addViolation(
        'livelock',
        x.prev,
        `${maxSteps} steps run, still awaited: ${pending} ` +
          '(a thread retries forever, often because the state it waits on is read once and kept, ' +
          'or because others keep undoing its work; or the scenario needs more steps than --max-steps)',
      );
      return 'violation';
    }
    // A step that touches nothing shared (local work, a spin) is taken at
    // once: choosing when to run it cannot change what anyone sees.
    let t = x.localStep();
    if (t !== null) {
      strategy.forcedStep(x, t);
      x.beforeStep(t, true);
    } else {
      t = strategy.nextThread(x);
      if (t === null) return 'redundant';
      x.beforeStep(t, false);
    }
    try {
      rt.runStep(t);
    } catch (e) {
      x.threwInStep = true;
      return modelBug(x, e);
    }
    x.afterStep(t);
    x.step++;
  }
}

/**
 * What the execution still awaits (Instance.pending). Without `rebuild`, its
 * instance tracks it; with it, the steps run so far are replayed, each draw as
 * made, on a fresh instance that does: the model is deterministic given its
 * choices and draws, so it reaches the same state having seen the same events.
 */
function pendingOf(x: Execution, rebuild: InstanceFactory | null): string | null {
  if (rebuild === null) return x.inst.pending();
  const inst = rebuild({ log: false });
  runRecordedSteps(inst, x.choices, x.step, x.draws);
  const pending = inst.pending();
  inst.dispose?.();
  return pending;
}

/** Records the model's exception; the checker's own (a replay that does not fit, raised in a draw) go through. */
function modelBug(x: Execution, e: unknown): Outcome {
  // The checker's own failures, and the scenario's bad input found as it runs
  // (too few guest page-table pages for what it maps: `run` refuses it too), are
  // no model bug: they go to the caller, the second to exit 2 as bad input.
  if (e instanceof CheckerError || e instanceof InputError) throw e;
  x.error = e;
  return 'model-bug';
}

function describeWait(t: Thread): string {
  return `${t.name} waits for ${t.waitingFor || 'something'}`;
}

function reportDeadlock(x: Execution): void {
  const waiting = x.rt.threads.filter((t) => t.state === 'blocked');
  x.addViolation(
    'deadlock',
    waiting[0] ?? null,
    `no thread can run; ${waiting.map(describeWait).join('; ')} (often a lock taken in opposite orders, or a wake-up that never comes)`,
  );
}

function reportSpinLivelock(x: Execution, rebuild: InstanceFactory | null): void {
  const rt = x.rt;
  const spinning = rt.threads.filter((t) => t.state === 'runnable');
  const others = rt.threads.filter((t) => t.state !== 'runnable').map((t) => (t.state === 'done' ? `${t.name} is done` : describeWait(t)));
  const pending = pendingOf(x, rebuild);
  x.addViolation(
    'livelock',
    spinning[0] ?? null,
    `${spinning.map((t) => t.name).join(', ')} ${spinning.length > 1 ? 'retry' : 'retries'} ` +
      'with nothing new to see (no other thread wrote what the last attempt read), and no other thread can run' +
      (others.length > 0 ? ` (${others.join('; ')})` : '') +
      (pending !== null ? `; still awaited: ${pending}` : '') +
      ' (often a value read once and kept instead of re-read on each retry)',
  );
}

/** The result of one stand-alone execution (replay, minimisation trials). */
export interface SingleRun {
  /** How it ended. */
  outcome: Outcome;
  /** The first violation, or null. */
  violation: Violation | null;
  /** What ran: a strict schedule. */
  schedule: Schedule;
  /** Preemptions in it. */
  preemptions: number;
  /** Context switches in it. */
  switches: number;
  /** The op each step announced (its footprint), by step. */
  ops: number[];
  /** The instance, for its log and state. */
  instance: Instance;
  /** The model's exception, when outcome is 'model-bug'. */
  error: unknown;
}

/** Runs one execution of a fresh instance under `strategy`. */
export function runOnce(factory: InstanceFactory, strategy: Strategy, limits: RunLimits, log: boolean): SingleRun {
  const x = new Execution();
  x.index = 0;
  if (!strategy.beginExecution(x)) throw new Error(`${strategy.name}: refused to run`);
  const inst = factory({ log });
  inst.rt.driver = executionDriver(x, strategy);
  x.start(inst, 0);
  const outcome = runExecution(x, strategy, limits);
  strategy.endExecution(x, outcome);
  return {
    outcome,
    violation: inst.violations[0] ?? null,
    schedule: x.schedule(),
    preemptions: x.preemptions,
    switches: x.switches,
    ops: x.ops.slice(0, x.step),
    instance: inst,
    error: x.error,
  };
}
