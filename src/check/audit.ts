import { opsConflict, opTouches } from '../runtime/op.js';
import type { Schedule } from '../runtime/schedule.js';
import type { Thread } from '../runtime/thread.js';
import { SeededDraws } from './draws.js';
import type { Execution } from './execution.js';
import { describeOp } from './counterexample.js';
import { CheckerError } from './errors.js';
import type { InstanceFactory } from './factory.js';
import { RandomStrategy } from './random.js';
import { ReplayStrategy } from './replay.js';
import { type RunLimits, runOnce, type SingleRun } from './run.js';

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
  const limits = options.limits ?? { maxSteps: 2000, fairSpin: false };
  const executions = options.executions ?? 200;
  const perExec = options.pairsPerExecution ?? 10;
  const maxFindings = options.maxFindings ?? 10;
  const seed = options.seed ?? 1;
  const findings: AuditFinding[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < executions && findings.length < maxFindings; i++) {
    const base = runOnce(factory, new RandomStrategy(seed + i), limits, true);
    if (base.outcome === 'model-bug') continue;
    const ch = base.schedule.choices;
    const names = base.instance.rt.objects.names;
    const threadName = (id: number) => base.instance.rt.threads[id]?.name ?? `thread${id}`;
    const pairs: number[] = [];
    for (let k = 0; k + 1 < ch.length; k++) {
      const a = base.ops[k];
      const b = base.ops[k + 1];
      if (ch[k] === ch[k + 1] || !shared(a) || !shared(b) || opsConflict(a, b)) continue;
      pairs.push(k);
    }
    // An even spread over the execution.
    const step = Math.max(1, Math.floor(pairs.length / perExec));
    for (let n = 0; n < pairs.length && findings.length < maxFindings; n += step) {
      const k = pairs[n];
      const first = `${threadName(ch[k])}: ${describeOp(base.ops[k], names)}`;
      const second = `${threadName(ch[k + 1])}: ${describeOp(base.ops[k + 1], names)}`;
      const key = `${first} / ${second}`;
      if (seen.has(key)) continue;
      const swapped = ch.slice();
      swapped[k] = ch[k + 1];
      swapped[k + 1] = ch[k];
      let difference: string | null;
      try {
        const other = runOnce(factory, new LocalFirstReplay({ choices: swapped, draws: base.schedule.draws }, seed + i), limits, true);
        difference = compare(base, other, threadName);
      } catch (e) {
        if (!(e instanceof CheckerError)) throw e;
        difference = `the swapped schedule no longer fits: ${e.message}`;
      }
      seen.add(key);
      if (difference !== null) findings.push({ first, second, difference, schedule: base.schedule, at: k });
    }
  }
  return findings;
}

/**
 * A replay of a swapped schedule. The runner takes a LOCAL step as soon as one is
 * eligible, so a swap can put a thread's local step later than the runner will:
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

  override nextDraw(x: Execution, n: number): number {
    return this.draws.below(n, x.rt.current?.id ?? -1);
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

function shared(op: number): boolean {
  return opTouches(op);
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
    const text = untimed(line.text);
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
