import type { Violation } from '../runtime/instance.js';
import type { Schedule } from '../runtime/schedule.js';
import type { InstanceFactory } from './factory.js';
import { GuidedStrategy } from './guided.js';
import { ReplayStrategy } from './replay.js';
import { type RunLimits, runOnce } from './run.js';
import { searchShortest } from './shortest.js';

/** Budget of a minimisation. */
export interface MinimiseOptions {
  /** Most trial executions (default 2000). The result depends only on this budget, so it is the same on any machine. */
  maxAttempts?: number;
  /** Wall-time budget, ms (default none: with one, the result may depend on the machine's speed). */
  timeLimitMs?: number;
  /** The wall clock, ms (default performance.now). */
  clock?: () => number;
  /** Polled between trials and executions: true stops the minimisation where it is (SIGINT). */
  interrupted?: () => boolean;
  /**
   * Most executions of the search for a shortest schedule that follows the
   * trials (default 20,000; 0: no search). Like maxAttempts, it alone decides
   * the result, on any machine.
   */
  searchExecutions?: number;
  /** Seed of the model's draws in the search's executions (default 0). */
  seed?: number;
}

/** Size of a counterexample: minimisation only ever lowers it. */
export interface CexSize {
  /** Steps. */
  steps: number;
  /** Preemptions. */
  preemptions: number;
  /** Context switches, preemptive or not. */
  switches: number;
}

/** A minimised counterexample. */
export interface MinimiseResult {
  /** The smallest schedule found; a strict schedule that replays to `violation`. */
  schedule: Schedule;
  /** The violation it leads to (same kind as the original's). */
  violation: Violation;
  /** Its size. */
  size: CexSize;
  /** The size of the schedule given. */
  original: CexSize;
  /** Trial executions run. */
  attempts: number;
  /**
   * The search for a shortest schedule: executions run, and whether it got to
   * the end (then no schedule with fewer preemptions, nor a shorter one with
   * as many, violates the property). Null when there was none.
   */
  search: { executions: number; complete: boolean } | null;
  /** Set when its wall-time budget (timeLimitMs) ran out, or it was interrupted, first: a smaller schedule may exist. */
  cutShort?: 'time-limit' | 'interrupted';
}

/**
 * Shrinks a schedule that leads to a violation of kind `kind`: fewer steps,
 * fewer preemptions, never more of either. Trials run a candidate as a list of
 * preferred choices (GuidedStrategy: entries naming a thread that cannot run
 * are skipped; once used up, the current thread runs on as long as it can,
 * else the lowest id), and a trial is kept when it violates the same property
 * and is no larger in steps and preemptions and smaller in one of steps,
 * preemptions or switches. Candidates, in rounds until none is kept:
 * - a prefix of the context-switch segments, completed by the default policy;
 * - the schedule without a chunk of segments (delta debugging, halving chunks);
 * - one segment cut short: to 1 step, 2 steps, ... (shortest first);
 * - two neighbouring segments swapped.
 * Trials only ever shorten the schedule at hand. Then a search (shortest.ts)
 * looks through every schedule within the result's preemptions and steps for
 * one with fewer preemptions, else fewer steps: what it finds is smallest.
 */
export function minimise(factory: InstanceFactory, schedule: Schedule, kind: string, limits: RunLimits, options: MinimiseOptions = {}): MinimiseResult {
  const clock = options.clock ?? (() => performance.now());
  const maxAttempts = options.maxAttempts ?? 2000;
  const deadline = clock() + (options.timeLimitMs ?? Number.POSITIVE_INFINITY);
  const first = runOnce(factory, new ReplayStrategy(schedule), limits, false);
  if (first.violation === null || first.violation.kind !== kind) {
    throw new Error(`minimise: the schedule does not lead to a '${kind}' violation (got ${first.violation?.kind ?? first.outcome})`);
  }
  let best = first.schedule;
  let bestViolation = first.violation;
  let size: CexSize = { steps: best.choices.length, preemptions: first.preemptions, switches: first.switches };
  const original = size;
  let attempts = 0;

  const interrupted = options.interrupted ?? (() => false);
  const budgetLeft = () => attempts < maxAttempts && clock() < deadline && !interrupted();
  /** Runs a candidate; keeps it when smaller. */
  const trial = (choices: number[]): boolean => {
    attempts++;
    const r = runOnce(factory, new GuidedStrategy({ choices, draws: best.draws }), limits, false);
    if (r.violation === null || r.violation.kind !== kind) return false;
    const s: CexSize = { steps: r.schedule.choices.length, preemptions: r.preemptions, switches: r.switches };
    if (!smaller(s, size)) return false;
    best = r.schedule;
    bestViolation = r.violation;
    size = s;
    return true;
  };

  let improved = true;
  while (improved && budgetLeft()) {
    improved = false;
    // Prefixes of whole segments, completed without further preemption.
    const starts = segmentStarts(best.choices);
    for (let s = 0; s < starts.length && budgetLeft(); s++) {
      if (trial(best.choices.slice(0, starts[s]))) {
        improved = true;
        break;
      }
    }
    if (improved) continue;
    // Delta debugging over segments.
    improved = ddmin(
      () => segmentStarts(best.choices),
      () => best.choices,
      trial,
      budgetLeft,
    );
    if (improved) continue;
    // One segment shortened, as far as it goes (its thread's other steps run later).
    improved = shortenSegments(() => best.choices, trial, budgetLeft);
    if (improved) continue;
    // Two neighbouring segments swapped (a preemption moved later, or dropped).
    improved = swapSegments(() => best.choices, trial, budgetLeft);
  }
  let search: MinimiseResult['search'] = null;
  const searchExecutions = options.searchExecutions ?? 20_000;
  if (searchExecutions > 0 && clock() < deadline && !interrupted()) {
    const r = searchShortest(factory, kind, best, size, limits, { budget: searchExecutions, seed: options.seed ?? 0, deadline, clock, interrupted });
    search = { executions: r.executions, complete: r.complete };
    if (r.found !== null) {
      const f = r.found;
      best = f.schedule;
      bestViolation = f.violation;
      size = { steps: f.schedule.choices.length, preemptions: f.preemptions, switches: f.switches };
    }
  }
  const cut = interrupted() ? 'interrupted' : clock() >= deadline ? 'time-limit' : undefined;
  return { schedule: best, violation: bestViolation, size, original, attempts, search, ...(cut !== undefined ? { cutShort: cut } : {}) };
}

/** s is no larger than t in steps and preemptions, and smaller in steps, preemptions or switches. */
export function smaller(s: CexSize, t: CexSize): boolean {
  if (s.steps > t.steps || s.preemptions > t.preemptions) return false;
  return s.steps < t.steps || s.preemptions < t.preemptions || s.switches < t.switches;
}

/** Tries each segment cut to 1, 2, ... steps; true at the first cut `trial` keeps. */
function shortenSegments(choices: () => number[], trial: (c: number[]) => boolean, budgetLeft: () => boolean): boolean {
  const ch = choices();
  const starts = segmentStarts(ch);
  for (let u = 0; u < starts.length; u++) {
    const from = starts[u];
    const to = u + 1 < starts.length ? starts[u + 1] : ch.length;
    for (let len = 1; len < to - from; len++) {
      if (!budgetLeft()) return false;
      if (trial(ch.slice(0, from + len).concat(ch.slice(to)))) return true;
    }
  }
  return false;
}

/** Tries each pair of neighbouring segments swapped; true at the first swap `trial` keeps. */
function swapSegments(choices: () => number[], trial: (c: number[]) => boolean, budgetLeft: () => boolean): boolean {
  const ch = choices();
  const starts = segmentStarts(ch);
  for (let u = 0; u + 1 < starts.length && budgetLeft(); u++) {
    const a = starts[u];
    const b = starts[u + 1];
    const c = u + 2 < starts.length ? starts[u + 2] : ch.length;
    if (trial(ch.slice(0, a).concat(ch.slice(b, c), ch.slice(a, b), ch.slice(c)))) return true;
  }
  return false;
}

/** Index of the first choice of each run of one thread. */
function segmentStarts(choices: number[]): number[] {
  const starts: number[] = [];
  for (let i = 0; i < choices.length; i++) if (i === 0 || choices[i] !== choices[i - 1]) starts.push(i);
  return starts;
}

/**
 * One pass of delta debugging: removes chunks of units (unit u spans choices
 * [starts[u], starts[u+1])), halving the chunk size down to one unit, and
 * returns true at the first removal `trial` keeps.
 */
function ddmin(units: () => number[], choices: () => number[], trial: (c: number[]) => boolean, budgetLeft: () => boolean): boolean {
  const starts = units();
  const ch = choices();
  const n = starts.length;
  for (let chunk = Math.max(1, n >> 1); chunk >= 1; chunk >>= 1) {
    for (let u = 0; u < n && budgetLeft(); u += chunk) {
      const from = starts[u];
      const to = u + chunk < n ? starts[u + chunk] : ch.length;
      if (trial(ch.slice(0, from).concat(ch.slice(to)))) return true;
    }
    if (chunk === 1) break;
  }
  return false;
}
