import { withoutHeldFreeNote } from '../oracle/gup-refs.js';
import { splitLockNotes } from '../oracle/lock-notes.js';
import { ModelBug } from '../runtime/model-bug.js';
import { opsConflict, opTouches } from '../runtime/op.js';
import type { Weighted } from '../runtime/prng.js';
import type { Schedule } from '../runtime/schedule.js';
import type { Thread } from '../runtime/thread.js';
import { describeOp, describeStepKind } from './counterexample.js';
import { SeededDraws } from './draws.js';
import { CheckerError } from './errors.js';
import type { Execution } from './execution.js';
import type { InstanceFactory } from './factory.js';
import { modelBugMessage } from './model-bug-report.js';
import { RandomStrategy } from './random.js';
import { ReplayStrategy } from './replay.js';
import { type RunLimits, runOnce, type SingleRun } from './run.js';
import { encodeSchedule } from './schedule-codec.js';

/** Budget of a footprint audit. */
export interface AuditOptions {
  /** Random executions to sample pairs from (default 200). */
  executions?: number;
  /** Adjacent pairs swapped per execution, at most (default 10). */
  pairsPerExecution?: number;
  /** Seed of the random executions. */
  seed?: number;
  /** Limits of each run (default: maxSteps 2000; the fair-spin rules off, as they depend on the order). */
  limits?: RunLimits;
  /** Stop after this many findings (default 10). */
  maxFindings?: number;
}

/** Two steps announced as independent that do not commute. */
export interface AuditFinding {
  /** The first step as run: "thread: op". */
  first: string;
  /** The second step as run: "thread: op". */
  second: string;
  /** What changed when they were swapped. */
  difference: string;
  /** The execution they were taken from; swapping choices `at` and `at + 1` shows the difference. */
  schedule: Schedule;
  /** Index of the first step of the pair. */
  at: number;
}

/**
 * Checks the model's announced ops, on which the partial-order reduction (and
 * the no-progress rule for spinning threads) rely: two adjacent steps of
 * different threads whose ops do not conflict must commute. For sampled pairs
 * of random executions, the pair is swapped and the run repeated; each thread
 * must then announce the same ops and log the same lines as before (durations
 * aside: virtual time depends on the order), and the same violation (if any)
 * must follow. A difference means some step touches shared state it does not
 * announce; a swapped schedule that no longer fits (a thread blocked where it
 * ran before) means the same.
 */
export function auditFootprints(factory: InstanceFactory, options: AuditOptions = {}): AuditFinding[] {
  const maxFindings = options.maxFindings ?? 10;
  const findings: AuditFinding[] = [];
  const seen = new Set<string>();
  sampleSwaps(
    factory,
    options,
    (a, b) => !opsConflict(a, b),
    (trial) => {
      if (seen.has(trial.key)) return 'skip';
      const difference = trial.run();
      seen.add(trial.key);
      if (difference !== null) findings.push({ first: trial.first, second: trial.second, difference, schedule: trial.schedule, at: trial.at });
      return findings.length < maxFindings ? 'go-on' : 'stop';
    },
  );
  return findings;
}

/** A kind of conflicting pair of steps, and how often swapping one made a difference. */
export interface ConflictTally {
  /** The first step, as "thread: op" with numbers generalised to #. */
  first: string;
  /** The second step, likewise. */
  second: string;
  /** Swaps tried. */
  tries: number;
  /** Swaps after which every thread did what it did before. */
  commuted: number;
}

/**
 * The other side of the audit: pairs of adjacent steps announced as
 * conflicting, swapped as auditFootprints swaps independent ones. A kind of
 * pair that commuted in every swap tried may be announced more coarsely than
 * what its steps do: each such conflict makes DPOR try both orders, so the
 * space grows with it. It is only a candidate: two steps that commuted in the
 * states sampled may not commute in others (a vCPU installing an SPTE another
 * has just installed, say), which is for the model writer to judge. Kinds are
 * named with numbers generalised (vCPU#, spte[#]); each is tried up to
 * `triesPerKind` times. Most commuted first.
 */
export function auditConflicts(factory: InstanceFactory, options: AuditOptions & { triesPerKind?: number } = {}): ConflictTally[] {
  const triesPerKind = options.triesPerKind ?? 12;
  const tallies = new Map<string, ConflictTally>();
  sampleSwaps(
    factory,
    options,
    (a, b) => opsConflict(a, b),
    (trial) => {
      const first = trial.kinds[0];
      const second = trial.kinds[1];
      const key = `${first}\n${second}`;
      let t = tallies.get(key);
      if (t === undefined) {
        t = { first, second, tries: 0, commuted: 0 };
        tallies.set(key, t);
      }
      if (t.tries >= triesPerKind) return 'skip';
      t.tries++;
      if (trial.run() === null) t.commuted++;
      return 'go-on';
    },
  );
  return [...tallies.values()].sort(
    (x, y) => y.commuted / y.tries - x.commuted / x.tries || y.tries - x.tries || (x.first + x.second < y.first + y.second ? -1 : 1),
  );
}

/** A pair of adjacent steps offered for swapping; `run` swaps them and says what changed (null: nothing). */
interface SwapTrial {
  first: string;
  second: string;
  /** first and second as kinds of step (describeStepKind). */
  kinds: [string, string];
  /** first and second, as one string. */
  key: string;
  schedule: Schedule;
  at: number;
  run: () => string | null;
}

/**
 * Runs random executions and offers `trial` up to pairsPerExecution pairs of
 * each, evenly spread, of adjacent steps of different threads, both touching
 * shared state, whose ops `select` picks. `trial` says to go on, to skip the
 * pair without counting it, or to stop.
 */
function sampleSwaps(
  factory: InstanceFactory,
  options: AuditOptions,
  select: (a: number, b: number) => boolean,
  trial: (t: SwapTrial) => 'go-on' | 'skip' | 'stop',
): void {
  const limits = options.limits ?? { maxSteps: 2000, fairSpin: false };
  const executions = options.executions ?? 200;
  const perExec = options.pairsPerExecution ?? 10;
  const seed = options.seed ?? 1;
  for (let i = 0; i < executions; i++) {
    const base = runOnce(factory, new RandomStrategy(seed + i), limits, true);
    // A random execution that makes the model throw is a model bug, not a pair to swap: said, not skipped (an
    // audit of executions that all threw said "sound").
    if (base.outcome === 'model-bug')
      throw new ModelBug(`${modelBugMessage(base.error)} (in the audit's random execution ${i + 1}; its schedule: ${encodeSchedule(base.schedule)})`);
    const ch = base.schedule.choices;
    const names = base.instance.rt.objects.names;
    const threadName = (id: number) => base.instance.rt.threads[id]?.name ?? `thread${id}`;
    const pairs: number[] = [];
    for (let k = 0; k + 1 < ch.length; k++) {
      const a = base.ops[k];
      const b = base.ops[k + 1];
      if (ch[k] === ch[k + 1] || !opTouches(a) || !opTouches(b) || !select(a, b)) continue;
      pairs.push(k);
    }
    // An even spread over the execution.
    const step = Math.max(1, Math.floor(pairs.length / perExec));
    for (let n = 0; n < pairs.length; n += step) {
      const k = pairs[n];
      const first = `${threadName(ch[k])}: ${describeOp(base.ops[k], names)}`;
      const second = `${threadName(ch[k + 1])}: ${describeOp(base.ops[k + 1], names)}`;
      const run = () => {
        const swapped = ch.slice();
        swapped[k] = ch[k + 1];
        swapped[k + 1] = ch[k];
        try {
          const other = runOnce(factory, new LocalFirstReplay({ choices: swapped, draws: base.schedule.draws }, seed + i), limits, true);
          return compare(base, other, threadName);
        } catch (e) {
          if (!(e instanceof CheckerError)) throw e;
          return `the swapped schedule no longer fits: ${e.message}`;
        }
      };
      const kinds: [string, string] = [
        describeStepKind(threadName(ch[k]), base.ops[k], names),
        describeStepKind(threadName(ch[k + 1]), base.ops[k + 1], names),
      ];
      if (trial({ first, second, kinds, key: `${first} / ${second}`, schedule: base.schedule, at: k, run }) === 'stop') return;
    }
  }
}

/**
 * A replay of a swapped schedule. The runner takes a LOCAL step or a spin as soon
 * as one is eligible, so a swap can put such a step later than the runner will:
 * such a step commutes with everything, and is taken from its place further on.
 * Draws come from the per-thread streams the random run drew from (the recorded
 * draws are in the order of the original schedule).
 */
class LocalFirstReplay extends ReplayStrategy {
  private readonly rest: number[];
  private readonly draws: SeededDraws;
  constructor(schedule: Schedule, drawSeed: number) {
    const rest = schedule.choices.slice();
    super({ choices: rest, draws: schedule.draws });
    this.rest = rest;
    // As RandomStrategy(drawSeed) draws in the one execution of runOnce (index 0).
    this.draws = new SeededDraws(drawSeed);
    this.draws.reset(0);
  }

  override nextDraw(x: Execution, n: number, w?: Weighted): number {
    return this.draws.below(n, x.rt.current?.id ?? -1, w);
  }

  override forcedStep(x: Execution, t: Thread): void {
    const j = this.rest.indexOf(t.id, x.step);
    if (j > x.step) {
      this.rest.splice(j, 1);
      this.rest.splice(x.step, 0, t.id);
    }
    super.forcedStep(x, t);
  }
}

/** What differs between two runs in any one thread's view, or null. */
function compare(a: SingleRun, b: SingleRun, threadName: (id: number) => string): string | null {
  if (b.outcome === 'model-bug') return `the swapped run throws: ${String(b.error)}`;
  if ((a.violation?.kind ?? null) !== (b.violation?.kind ?? null)) {
    return `violation ${a.violation?.kind ?? 'none'} became ${b.violation?.kind ?? 'none'}`;
  }
  const opsA = perThread(a.schedule.choices, a.ops);
  const opsB = perThread(b.schedule.choices, b.ops);
  for (const [t, seq] of opsA) {
    const other = opsB.get(t) ?? [];
    const i = firstDifference(seq, other);
    if (i >= 0) {
      const names = a.instance.rt.objects.names;
      const show = (v: number | undefined) => (v === undefined ? 'nothing' : describeOp(v, names));
      return `${threadName(t)}'s step ${i + 1} announced ${show(seq[i])}, now ${show(other[i])}`;
    }
  }
  const logA = perThreadLog(a);
  const logB = perThreadLog(b);
  for (const [t, seq] of logA) {
    const other = logB.get(t) ?? [];
    const i = firstDifference(seq, other);
    if (i >= 0) return `${threadName(t)} logged '${seq[i] ?? 'nothing'}', now '${other[i] ?? 'nothing'}'`;
  }
  return null;
}

function perThread(choices: number[], ops: number[]): Map<number, number[]> {
  const m = new Map<number, number[]>();
  choices.forEach((t, i) => {
    const l = m.get(t);
    if (l === undefined) m.set(t, [ops[i]]);
    else l.push(ops[i]);
  });
  return m;
}

function perThreadLog(r: SingleRun): Map<number, string[]> {
  const m = new Map<number, string[]>();
  for (const line of r.instance.log ?? []) {
    const l = m.get(line.thread);
    // Where a lock note lands depends on the interleaving: only the event is the thread's own,
    // without what it says of another thread's page reference.
    const text = untimed(withoutHeldFreeNote(splitLockNotes(line.text).event));
    if (l === undefined) m.set(line.thread, [text]);
    else l.push(text);
  }
  return m;
}

/** Log text without durations: virtual time depends on the order of steps by design. */
function untimed(text: string): string {
  return text.replace(/\d+(\.\d+)? ?(ns|us|µs|ms|s)\b/g, '<time>');
}

function firstDifference<T>(a: T[], b: T[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}
