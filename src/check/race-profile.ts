import { ModelBug } from '../runtime/model-bug.js';
import { describeStepKind } from './counterexample.js';
import { DfsStrategy } from './dfs.js';
import { type ExploreOptions, explore } from './explore.js';
import type { InstanceFactory } from './factory.js';
import { encodeSchedule } from './schedule-codec.js';
import { TraceSet } from './trace-set.js';

/** A kind of race: two kinds of step (describeStepKind). */
export interface RaceClass {
  /** The earlier step of the race. */
  first: string;
  /** The later step, whose reversal DPOR then tries. */
  second: string;
  /** Backtrack points this kind of race added. */
  backtracks: number;
  /** Its share of all the backtrack points added, 0..1. */
  share: number;
}

/** Where a DFS's executions come from. */
export interface RaceProfile {
  executions: number;
  /**
   * Distinct Mazurkiewicz traces among the executions that ran to an end
   * (trace-set.ts): fewer than executions when the DFS runs a trace more than
   * once, as it does under a preemption bound, which turns sleep sets off.
   */
  distinctTraces: number;
  exhausted: boolean;
  /** The property the DFS stopped at (it stops at the first violation), or null. */
  violation: string | null;
  /** Preemption bound of the DFS (null: none). */
  preemptionBound: number | null;
  /** Backtrack points added in all. */
  backtracks: number;
  /** The kinds of race, most backtrack points first (ties by name). */
  classes: RaceClass[];
}

/**
 * Runs the DFS (DPOR, as `mmulab check --strategy dfs` does) and counts, per
 * kind of racing pair of steps, the races that gave it something new to try,
 * and the distinct traces among its executions.
 * Every execution after the first starts at such a point, so the table says
 * which races the explored space grows with: a model writer reads it to see
 * whether they are races the protocol has (a bigger world, or a preemption
 * bound, is then the answer) or announcements coarser than what the steps do.
 */
export function profileRaces(
  factory: InstanceFactory,
  options: Pick<ExploreOptions, 'maxExecutions' | 'maxSteps' | 'timeLimitMs' | 'interrupted' | 'clock' | 'retries'> & {
    preemptionBound?: number;
    seed?: number;
  },
): RaceProfile {
  const probe = factory({ log: false });
  const objects = probe.rt.objects.names.slice();
  const threads = probe.rt.threads.map((t) => t.name);
  probe.dispose?.();
  const describe = (t: number, op: number) => describeStepKind(threads[t] ?? `thread${t}`, op, objects);
  // Counted by the raw pair of (thread, op) steps; named once, at the end.
  const counts = new Map<string, number>();
  let total = 0;
  const traces = new TraceSet();
  const dfs = new DfsStrategy({
    // The profile is of DPOR's races, with or without a bound.
    por: 'dpor',
    preemptionBound: options.preemptionBound,
    seed: options.seed,
    observer: {
      backtrack: (t1, op1, t2, op2) => {
        const key = `${t1} ${op1} ${t2} ${op2}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        total++;
      },
      step: (t, op) => traces.step(t, op),
      end: (outcome) => traces.end(outcome),
    },
  });
  const r = explore(factory, dfs, options);
  // Races of executions cut short by the model's throw are no profile of the space: the bug is said instead.
  if (r.modelBug !== null) throw new ModelBug(`${r.modelBug.message} (in the profile's execution; its schedule: ${encodeSchedule(r.modelBug.schedule)})`);
  const byName = new Map<string, RaceClass>();
  for (const [key, n] of counts) {
    const [t1, op1, t2, op2] = key.split(' ').map(Number);
    const first = describe(t1!, op1!);
    const second = describe(t2!, op2!);
    const c = byName.get(`${first}\n${second}`);
    if (c === undefined) byName.set(`${first}\n${second}`, { first, second, backtracks: n, share: 0 });
    else c.backtracks += n;
  }
  const classes = [...byName.values()].sort(
    (x, y) => y.backtracks - x.backtracks || (x.first < y.first ? -1 : x.first > y.first ? 1 : x.second < y.second ? -1 : 1),
  );
  for (const c of classes) c.share = total > 0 ? c.backtracks / total : 0;
  const bound = options.preemptionBound;
  return {
    executions: r.summary.executions,
    distinctTraces: traces.size,
    exhausted: r.summary.exhausted,
    violation: r.violation?.kind ?? null,
    preemptionBound: bound === undefined || !Number.isFinite(bound) ? null : bound,
    backtracks: total,
    classes,
  };
}
