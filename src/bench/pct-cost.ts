/**
 * Where the time of a pct execution goes, on fault-vs-invalidation-mini at
 * N×I×F: building the instance, the model's steps (its oracle included), and
 * the checker around them. What pct could reach with a checker that cost
 * nothing is the figure the 50k executions/s target is to be read against.
 */
import { DelegatingStrategy } from '../check/delegating.js';
import type { Execution, InstanceFactory, Outcome, Strategy } from '../check/index.js';
import { explore, makeStrategy } from '../check/index.js';
import { runRecordedSteps } from '../check/recorded-steps.js';
import { medianBy } from './median.js';
import { factory, sized } from './mini.js';

/** One execution as run: the thread of each step, and the model's draws. */
export interface Recorded {
  choices: Uint8Array;
  draws: Int32Array;
}

/** pct as it is, keeping what each execution ran. */
class RecordingStrategy extends DelegatingStrategy {
  readonly name: string;
  readonly runs: Recorded[] = [];

  constructor(private readonly inner: Strategy) {
    super();
    this.name = inner.name;
  }

  protected get current(): Strategy {
    return this.inner;
  }

  override endExecution(x: Execution, outcome: Outcome): void {
    this.runs.push({ choices: Uint8Array.from(x.choices.slice(0, x.step)), draws: Int32Array.from(x.draws.slice(0, x.nDraws)) });
    super.endExecution(x, outcome);
  }
}

/**
 * Runs the recorded executions again on the runtime alone: each step's thread
 * and each draw come from the record, nothing is chosen and nothing is checked
 * beyond what the model's own oracle does. A step of a thread that cannot run
 * (the record does not fit) is the model's error, and ends the benchmark.
 */
export function replayWithoutChecker(make: InstanceFactory, runs: readonly Recorded[]): void {
  for (const r of runs) {
    const inst = make({ log: false });
    const d = runRecordedSteps(inst, r.choices, r.choices.length, r.draws);
    if (d !== r.draws.length) throw new Error(`pct cost: a replay made ${d} draws where pct made ${r.draws.length}`);
    inst.finish();
    inst.dispose?.();
  }
}

/** The first `n` executions of pct (seed 1), as run. */
export function recordPct(make: InstanceFactory, n: number): Recorded[] {
  const rec = new RecordingStrategy(makeStrategy({ kind: 'pct' }, 1));
  explore(make, rec, { maxExecutions: n });
  return rec.runs;
}

/** Builds and drops `n` instances. */
function buildOnly(make: InstanceFactory, n: number): void {
  for (let i = 0; i < n; i++) make({ log: false }).dispose?.();
}

function usPer(n: number, f: () => void): number {
  const t0 = performance.now();
  f();
  return ((performance.now() - t0) * 1000) / n;
}

/**
 * Records the first `executions` of a pct run (seed 1), then times, `repeats`
 * times in turn: building that many instances; replaying the records without
 * a checker; the pct run itself (the same executions: same seed). Each figure
 * is the median, per execution.
 */
export function measurePctCost(opts: { size: [number, number, number]; executions: number; repeats: number }) {
  const make = factory(sized('fault-vs-invalidation-mini', ...opts.size), null);
  const n = opts.executions;
  const runs = recordPct(make, n);
  const steps = runs.reduce((a, r) => a + r.choices.length, 0) / n;
  const trials: { buildUs: number; replayUs: number; pctUs: number }[] = [];
  for (let i = 0; i < opts.repeats; i++) {
    trials.push({
      buildUs: usPer(n, () => buildOnly(make, n)),
      replayUs: usPer(n, () => replayWithoutChecker(make, runs)),
      pctUs: usPer(n, () => explore(make, makeStrategy({ kind: 'pct' }, 1), { maxExecutions: n })),
    });
  }
  const build = medianBy(trials, (t) => t.buildUs).buildUs;
  const replay = medianBy(trials, (t) => t.replayUs).replayUs;
  const pct = medianBy(trials, (t) => t.pctUs).pctUs;
  const round = (v: number, d = 2) => Number(v.toFixed(d));
  return {
    size: opts.size.join('x'),
    executions: n,
    stepsPerExecution: round(steps, 1),
    /** µs per execution: building the instance. */
    buildUs: round(build),
    /** µs per execution: the model's steps with its oracle (the replay without a checker, less building). */
    modelUs: round(replay - build),
    /** µs per execution: what pct adds to the replay (choosing, the fair-spin rules, recording). */
    checkerUs: round(pct - replay),
    pctUs: round(pct),
    modelNsPerStep: Math.round(((replay - build) * 1000) / steps),
    checkerNsPerStep: Math.round(((pct - replay) * 1000) / steps),
    pctExecutionsPerSec: Math.round(1e6 / pct),
    /** pct with a checker that cost nothing: the replay's rate. */
    ceilingExecutionsPerSec: Math.round(1e6 / replay),
    runs: trials.map((t) => ({ buildUs: round(t.buildUs), replayUs: round(t.replayUs), pctUs: round(t.pctUs) })),
  };
}
