import { KIND_MASK, opsConflict, SHARED, SPIN, WRITE } from '../runtime/op.js';
import type { Weighted } from '../runtime/prng.js';
import type { Thread } from '../runtime/thread.js';
import { claimedOwnership, type UnitClaims } from './claims.js';
import { SeededDraws } from './draws.js';
import { NondeterministicModel } from './errors.js';
import { type Execution, MAX_THREADS, type Outcome } from './execution.js';
import { HappensBefore, type RaceSink } from './hb.js';
import { DRAW_NODE, Path, THREAD_NODE } from './path.js';
import { fmix, PrefixTrace } from './prefix-trace.js';
import { owns, type Shard } from './shard.js';
import { DEFAULT_MAX_STATES, SharedStateCache } from './shared-state-cache.js';
import { SpinDirt } from './spin-dirt.js';
import { StateCache } from './state-cache.js';
import type { Strategy } from './strategy.js';
import { bit, lowest, popcount } from './thread-mask.js';

/** The partial-order reduction the DFS applies. */
export type PorMode =
  /** none: every eligible thread at every step (within the preemption bound) */
  | 'none'
  /** sleep sets keyed on announced ops: a thread whose step commutes with what ran since it was explored is not re-run */
  | 'sleep'
  /** source-set DPOR with sleep sets: alternatives are added only where a race between two steps was seen */
  | 'dpor'
  /**
   * every eligible thread at every step (within the preemption bound), but a
   * state explored before is not explored again: see DfsStrategy, "states"
   */
  | 'states';

/**
 * The reduction a DFS uses when not told: with a preemption bound, 'states'
 * (it covers every trace within the bound, and at fault-vs-invalidation-mini
 * 3x3x2 with bound 1 in 27,133 executions, where bounded DPOR needs 238,682,
 * and elsewhere misses some); without one, 'dpor' (plain DFS would enumerate every
 * edge of a state space that only a bound keeps small).
 */
export function defaultPor(options: Pick<DfsOptions, 'por' | 'preemptionBound'>): PorMode {
  const b = options.preemptionBound;
  return options.por ?? (b === undefined || b === Number.POSITIVE_INFINITY ? 'dpor' : 'states');
}

/** With draws 'explore', the most values a draw may take and still be a branch point (DfsOptions.maxDrawBranch's default). */
export const MAX_DRAW_BRANCH = 8;

/** How the DFS treats the model's random draws. */
export type DrawMode =
  /** from a PRNG seeded the same for every execution, so that re-execution is deterministic */
  | 'seeded'
  /** every draw of at most `maxDrawBranch` values is a branch point whose values are all explored; larger ones are seeded */
  | 'explore';

/** Settings of the DFS strategy. */
export interface DfsOptions {
  /** Most preemptions per execution (Infinity: unbounded). */
  preemptionBound?: number;
  /** Partial-order reduction; by default (defaultPor) 'states' with a preemption bound, 'dpor' without. */
  por?: PorMode;
  /** With por 'states': room for this many states in the table (two slots a state, 8 bytes a slot; default DEFAULT_MAX_STATES, 4 Mi, as the shared table). */
  maxStates?: number;
  /** Draws: 'seeded' by default. */
  draws?: DrawMode;
  /** With draws 'explore': draws over more values than this come from the seeded PRNG (default MAX_DRAW_BRANCH). */
  maxDrawBranch?: number;
  /** Seed of the draws that are not explored. */
  seed?: number;
  /**
   * Splits the tree into subtrees (the units of shard.ts) at its first branch
   * points, and explores only those of `shard`. See DfsStrategy.
   */
  split?: DfsSplit;
  /** Told what the DFS runs and reverses, for profiles (race-profile.ts, trace-set.ts). */
  observer?: DfsObserver;
  /** Explore only one branch of the tree's top, as part of a search handed out branch by branch (see DfsBranch). */
  branch?: DfsBranch;
}

/**
 * One branch of a DFS whose top (its first `depth` nodes) is shared out
 * between workers (branch-rounds.ts). The execution follows `prefix` at the
 * first nodes and the default choice at the other nodes of the top; below it,
 * DPOR as usual. The top tries nothing else itself: where a race asks for
 * another thread (or a draw has other values) at a node of the top, that
 * alternative is handed to `request` as the branch it starts.
 */
export interface DfsBranch {
  /** Choices (thread id, or value drawn) at the first nodes. */
  prefix: readonly number[];
  /**
   * Per node of the prefix, the threads tried there before its choice (none
   * when absent): with sleep sets, they sleep below it where they commute, as
   * in one DFS that tried them first.
   */
  tried?: readonly number[];
  /**
   * Per node of the prefix, those of `tried` whose step there was followed at
   * once by a spin, or whose branch has not told (Path.spinAfter): they do
   * not sleep below it. Absent: all of `tried`.
   */
  spun?: readonly number[];
  /** Nodes in the top. */
  depth: number;
  /**
   * Told each alternative the exploration asks for at node `node` of the top
   * (whose choices, the same in every execution of the branch, `reached`
   * gives): `candidates`, a mask of the threads (or values drawn) any one of
   * which would do there; `preferred`, the one to take when none of them is
   * tried there yet; `asleep`, the node's sleep set (a thread asleep there
   * is covered elsewhere and not tried).
   */
  request(node: number, candidates: number, preferred: number, asleep: number): void;
  /**
   * Told once, after the first execution, the choices it made at the nodes of
   * the top, and per node 1 when a spin followed the step chosen there at once.
   */
  reached(choices: number[], spins: number[]): void;
}

/** What a DFS tells an observer; every method is optional. */
export interface DfsObserver {
  /** The next step of the current execution: its thread and announced op. */
  step?(thread: number, op: number): void;
  /**
   * A race gave DPOR something new to try (a thread added to a node's
   * backtrack set): the two steps, each as its thread and announced op, the
   * earlier first.
   */
  backtrack?(firstThread: number, firstOp: number, secondThread: number, secondOp: number): void;
  /** The current execution ended. */
  end?(outcome: Outcome): void;
}

/** How the DFS splits its tree for sharding. */
export interface DfsSplit {
  /** The part to explore. */
  shard: Shard;
  /** Split at the first d branch points, d the smallest that gives at least this many subtrees along the first execution. */
  prefixes: number;
  /**
   * The shard's subtrees are handed out on demand between parts running side
   * by side (see claims.ts) rather than striped: this part explores those it
   * takes.
   */
  claims?: UnitClaims;
  /**
   * With por 'states': one table of the states explored for every unit
   * (SharedStateCache.buffer), shared by the parts running side by side.
   * Without it each unit starts with a table of its own, empty.
   */
  states?: SharedArrayBuffer;
  /**
   * With a preemption bound: the units come fewest preemptions on their top
   * first, not in DFS order (see DfsStrategy.advance), for parts side by
   * side sharing `states`, which then take the biggest units first. The
   * units are the same, numbered in the order walked, so they still add up
   * to one DFS's figures; but a budget, or the first violation, may then
   * come elsewhere than in one DFS, and a --shard part must number units as
   * every other part does.
   */
  fewestPreemptionsFirst?: boolean;
}

/** Counters of the DFS, for reports and tests. */
export interface DfsStats {
  /** Executions cut because every thread allowed to run was in the sleep set or over the preemption bound. */
  blocked: number;
  /** Deepest path, in nodes. */
  maxPath: number;
  /** Nodes at which the preemption bound kept an eligible thread from being chosen (0: the bound cut nothing). */
  boundCuts: number;
  /** Executions cut at a state explored before (por 'states'). */
  cached: number;
}

/**
 * Stateless systematic exploration by re-execution, as loom and CHESS do: the
 * path of branch points of the last execution is kept; the next execution
 * replays it up to the deepest node with an alternative left, takes that
 * alternative, and continues with fresh nodes (which first try the thread that
 * ran last, then the lowest id). Preemption bounding counts switches away from
 * a thread that could have gone on (and is not spinning).
 *
 * Unbounded, the exploration covers every Mazurkiewicz trace (up to maxSteps,
 * and given that the announced ops are honest footprints) of the schedules the
 * retry rule allows (RetryRule: deferred, a retry waits until no thread that is not
 * retrying can run, which the happens-before sees as a spin that conflicts with every
 * chosen step, as the yields make it). The fair-spin
 * rules order more than the ops say: a spin yields to the threads eligible
 * then, so it and the steps of other threads around it do not commute; the
 * happens-before counts those yields as dependencies (HappensBefore's
 * YIELDS), a spin's races are reversed at the choice before it (the spin is
 * one with that step), a step a spin followed at once never sleeps past
 * another thread's step (Path.spinAfter), and a spin empties the sleep set.
 * (Before the yields were dependencies, sleep sets had to pause while a
 * thread yielded or was stuck; now they need not, and seq 2x1x1 takes
 * 1,420,666 executions instead of 3,179,678, for the same 144,128 traces.)
 * It finds every trace plain DFS finds where plain DFS finishes, and every
 * trace random walks reach on fault-vs-invalidation-mini 1x1x1 and the toy
 * seq 2x1x1, where two vCPUs retry (trace-set.ts, tests;
 * scripts/missed-traces.ts). A preemption bound and a partial-order
 * reduction do not mix well: the one explored member of an equivalence class may need more
 * preemptions than another. So, with a bound, sleep sets are off ('sleep' is
 * then plain DFS), and when DPOR reverses a race at a point where that costs a
 * preemption, it also tries the thread from the latest earlier point where
 * switching is free (after Coons, Musuvathi and McKinley, "Bounded
 * partial-order reduction", OOPSLA 2013) and, when the bound forbids the
 * reversal there, from the latest earlier node the bound allows. Even so it
 * misses some traces that schedules within the bound have when two threads
 * retry (README, coverage of a preemption bound).
 *
 * Hence "states" (the default with a bound): every thread allowed at every
 * node, as plain DFS, but a node whose state was reached before ends the
 * execution (see `seen`): two schedules that reach one state have the same
 * subtree, which DFS order has explored (or is exploring) below the first. It
 * reaches every trace plain DFS reaches within the bound (tests), at a cost
 * that grows with the states rather than with the schedules. Without a bound
 * it is no help: every iteration of a retry loop is a new state.
 *
 * With a split, the first d nodes of the path (d fixed after the first
 * execution: the smallest whose alternatives along it multiply to at least
 * `split.prefixes`) try every thread allowed there instead of DPOR's choice;
 * that only explores more, and makes a race found below them a no-op there
 * (they already try everything). Sleep sets still apply at them. Each choice
 * of those d nodes, in DFS order, is a unit (a subtree, numbered from 0),
 * explored with DPOR (or explored states) below as if alone: nothing below
 * the split carries from one subtree to the next, remembered states
 * included. A part explores the units it owns and walks past the others,
 * running one uncounted execution (a probe) only when it needs to learn the
 * nodes of the split below a new choice. So every part, and the
 * unsharded run with the same split (shard 0/1), explore each unit alike.
 * Explored states can instead live in one table for every unit, shared by
 * parts running side by side (`split.states`): each state below the split is
 * then explored once, by whichever part adds it first, and the executions
 * that takes do not depend on which part ran what (each explored state
 * contributes its branches, one execution less than its choices), only the
 * figures of each unit do.
 *
 * With a branch (DfsBranch), the first nodes are fixed instead, and what races
 * ask for there goes out as requests for other branches (branch-rounds.ts
 * settles them), so that workers can share the tree out as it is explored.
 */
export class DfsStrategy implements Strategy, RaceSink {
  readonly name = 'dfs';
  /** See DfsStats. */
  readonly stats: DfsStats = { blocked: 0, maxPath: 0, boundCuts: 0, cached: 0 };
  private readonly path = new Path();
  /** Next node of the path to visit in this execution. */
  private pos = 0;
  /** Sleep set for the next thread node. */
  private curSleep = 0;
  /** Node index of each step of this execution. */
  private readonly stepNode: number[] = [];
  /** Per thread: the node of its last chosen step in this execution, or -1. */
  private readonly lastNode = new Int32Array(MAX_THREADS);
  /** Per forced step of this execution: the node of the last choice before it (-1: none). */
  private readonly forcedAfter: number[] = [];
  /** Step index of each node of this execution. */
  private readonly nodeStep: number[] = [];
  /** Per node, per thread: the wakeup sequence to follow after trying that thread there, if any. */
  private readonly guides: ((number[] | undefined)[] | null)[] = [];
  /** The wakeup sequence being followed at new nodes, or null. */
  private guide: number[] | null = null;
  /** Next entry of `guide`. */
  private guidePos = 0;
  /** Happens-before and races of the current execution (DPOR). */
  private readonly hb = new HappensBefore();
  /** Draws that are not branch points. */
  private readonly seeded: SeededDraws;
  /** The first execution has begun. */
  private started = false;
  /** Every branch of the path has been tried. */
  private isExhausted = false;
  /** Most preemptions per execution. */
  private readonly bound: number;
  /** The partial-order reduction. */
  private readonly por: PorMode;
  /** Sleep sets are kept: with POR, and no preemption bound (see the class comment). */
  private readonly sleepSets: boolean;
  /** Small draws are branch points. */
  private readonly explore: boolean;
  /** Largest draw that is a branch point. */
  private readonly maxDrawBranch: number;
  /** True when this part explores unit u (asked once per unit, in increasing order). */
  private readonly owns: (u: number) => boolean;
  /** Subtrees wanted from the split. */
  private readonly splitTarget: number;
  /** Nodes of the split: 0 without one, -1 until the first execution has shown the tree's top. */
  private splitDepth: number;
  /** The unit (subtree) of the current execution. */
  private unit = 0;
  /** With split.fewestPreemptionsFirst: the preemptions the split's nodes spend in the units of this walk of the top (see advance). */
  private pass = 0;
  /** Walks of the top after the first (see advance): 0 but with split.fewestPreemptionsFirst. */
  private readonly walks: number;
  /** The current execution belongs to another part's unit. */
  private probe: boolean;
  /** See DfsOptions.observer. */
  private readonly observer: DfsObserver | null;
  /** With an observer of backtracks: the op of each step of this execution, and of the step being chosen. */
  private readonly stepOp: number[] = [];
  /** The branch explored, or null for the whole tree. */
  private branch: DfsBranch | null;
  /** Nodes of the top that a branch leaves to others (0: none). */
  private topDepth: number;
  /** The branch has told what its top reached. */
  private reachedTop = false;
  /** With por 'states': the trace of the current execution's steps so far. */
  private readonly trace: PrefixTrace | null;
  /** Steps of the current execution that re-run the previous one's, whose trace is kept. */
  private replayed = 0;
  /** With por 'states': what each thread's stuck test will see of the steps since its last spin. */
  private readonly dirt: SpinDirt | null;
  /** With por 'states': the states explored, in this unit or branch (or in every unit: see DfsSplit.states). */
  private readonly states: StateCache | SharedStateCache | null;
  /** The table of `states` when it is this unit's or branch's own, to empty at the next. */
  private readonly ownStates: StateCache | null;

  constructor(options: DfsOptions = {}) {
    this.bound = options.preemptionBound ?? Number.POSITIVE_INFINITY;
    this.por = defaultPor(options);
    this.trace = this.por === 'states' ? new PrefixTrace() : null;
    this.dirt = this.por === 'states' ? new SpinDirt() : null;
    const shared = this.por === 'states' && options.split?.states !== undefined ? new SharedStateCache(options.split.states) : null;
    this.ownStates = this.por === 'states' && shared === null ? new StateCache(2 * (options.maxStates ?? DEFAULT_MAX_STATES)) : null;
    this.states = shared ?? this.ownStates;
    this.sleepSets = (this.por === 'sleep' || this.por === 'dpor') && this.bound === Number.POSITIVE_INFINITY;
    this.explore = (options.draws ?? 'seeded') === 'explore';
    this.maxDrawBranch = options.maxDrawBranch ?? MAX_DRAW_BRANCH;
    this.seeded = new SeededDraws(options.seed ?? 0);
    const split = options.split;
    this.owns = split?.claims !== undefined ? claimedOwnership(split.shard, split.claims) : (u) => owns(split?.shard, u);
    this.splitTarget = split?.prefixes ?? 0;
    this.walks = split?.fewestPreemptionsFirst === true && Number.isFinite(this.bound) ? this.bound : 0;
    this.splitDepth = this.splitTarget > 1 ? -1 : 0;
    this.probe = !this.owns(0);
    this.observer = options.observer ?? null;
    this.branch = options.branch ?? null;
    this.topDepth = this.branch?.depth ?? 0;
    if (this.branch !== null && split !== undefined) throw new RangeError('dfs: a branch of the top cannot be split again');
  }

  /**
   * Starts over on another branch of the top (the strategy was made with a
   * branch), keeping the buffers: a DFS shared out in branches runs thousands
   * of them, and making a strategy costs as much as an execution.
   */
  restart(branch: DfsBranch): void {
    if (this.branch === null) throw new RangeError('dfs: restart is for a strategy made with a branch');
    this.branch = branch;
    this.topDepth = branch.depth;
    this.reachedTop = false;
    this.started = false;
    this.isExhausted = false;
    this.path.length = 0;
    this.guides.length = 0;
    this.guide = null;
    this.curSleep = 0;
    this.stats.blocked = 0;
    this.stats.maxPath = 0;
    this.stats.boundCuts = 0;
    this.stats.cached = 0;
    this.ownStates?.clear();
  }

  statesLost(): number {
    return this.states?.lost ?? 0;
  }

  /** Unit of the current execution (SelfSharding, for explore). */
  currentUnit(): number {
    return this.unit;
  }

  /** True when the current execution only walks another part's unit (SelfSharding). */
  probing(): boolean {
    return this.probe;
  }

  beginExecution(_x: Execution): boolean {
    if (this.isExhausted) return false;
    if (this.started && !this.advance()) {
      this.isExhausted = true;
      return false;
    }
    // The path up to its last node is the previous execution's: so are the
    // steps before that node's, their clocks and their races (reported then).
    const last = this.path.length - 1;
    const kept = this.started && last >= 0 && this.nodeStep[last] !== undefined ? this.nodeStep[last] : 0;
    if (kept > 0) this.hb.rollBack(kept);
    else this.hb.reset();
    this.started = true;
    this.pos = 0;
    this.curSleep = 0;
    this.lastNode.fill(-1);
    this.seeded.reset(0);
    // Steps re-run are not added to the trace again (see `traced`).
    this.trace?.rollBack(kept);
    this.replayed = kept;
    this.dirt?.reset();
    return true;
  }

  /**
   * Moves to the next execution to run: the deepest node with an alternative
   * left, past the subtrees of other parts; false when there is none.
   *
   * With split.fewestPreemptionsFirst (and a preemption bound), the top is
   * walked once per number of preemptions its nodes spend, fewest first:
   * units whose top spends none, then one, and so on. A unit is taken in the
   * walk of what its top spends down to the node where it branches off (the
   * nodes below, as first run, take the thread that ran last or one that may
   * be switched to for free), so each is taken in exactly one walk. A unit with more preemptions left below its top
   * holds more of the tree (with bound 2 at 3x3x2, the four units whose top
   * spends none held 87% of the executions), and a part that takes one of
   * those last runs on alone after the others are done: in DFS order the
   * largest, a third of all, was claimed after 201 of 268 units, and one
   * worker ran on alone for a second of 4.6 s (0.4 s walked fewest first).
   * The units are numbered in the order walked.
   */
  private advance(): boolean {
    if (this.splitDepth < 0) this.fixSplit();
    const d = this.splitDepth;
    // Below the split, a probe's nodes belong to another part's subtree.
    if (this.probe && this.path.length > d) this.path.length = d;
    // Walks after the first: up to as many as the top may spend.
    const walks = Math.min(this.walks, d);
    for (;;) {
      const k = this.backtrackPoint();
      if (k < 0) {
        if (this.pass >= walks) return false;
        // Walk the top again for the units that spend one more preemption
        // there. The first path spends none: its execution only learns the top.
        this.pass++;
        this.probe = true;
        return true;
      }
      if (k >= d) return true;
      // What the unit below the alternative taken at k spends on its top.
      const spent = walks > 0 ? this.topPreemptions(k) : 0;
      if (spent > this.pass) continue;
      if (spent < this.pass) {
        // A unit of an earlier walk: passed over, its split nodes learnt by one execution if need be.
        if (k === d - 1) continue;
        this.probe = true;
        return true;
      }
      this.unit++;
      this.probe = !this.owns(this.unit);
      // Nothing carries from one subtree to the next, but a shared table of states.
      this.ownStates?.clear();
      // Another part's subtree whose split nodes are all known is passed over
      // without running it; otherwise one execution learns them.
      if (!this.probe || k < d - 1) return true;
    }
  }

  /** Preemptions spent by the path's choices at nodes 0..k. */
  private topPreemptions(k: number): number {
    const path = this.path;
    let j = k;
    while (j >= 0 && path.kind[j] !== THREAD_NODE) j--;
    if (j < 0) return 0;
    return path.preemptions[j] + (path.preemptive[j] === 1 && path.chosen[j] !== path.prev[j] ? 1 : 0);
  }

  /**
   * Sets the split after the first execution: d nodes whose alternatives
   * along that execution give at least splitTarget subtrees (or the whole
   * path); each then tries every thread allowed there.
   */
  private fixSplit(): void {
    const path = this.path;
    let d = 0;
    let subtrees = 1;
    while (d < path.length && subtrees < this.splitTarget) {
      subtrees *= path.kind[d] === DRAW_NODE ? path.backtrack[d] : popcount(path.eligible[d] & this.allowed(d));
      d++;
    }
    for (let k = 0; k < d; k++) {
      if (path.kind[k] === THREAD_NODE) path.backtrack[k] = path.eligible[k] & this.allowed(k);
      this.guides[k] = null;
    }
    this.splitDepth = d;
  }

  /** Takes the alternative at the deepest node that has one, and returns that node, or -1 (the path is then empty). */
  private backtrackPoint(): number {
    const path = this.path;
    for (let k = path.length - 1; k >= this.topDepth; k--) {
      if (path.kind[k] === DRAW_NODE) {
        if (path.chosen[k] + 1 < path.backtrack[k]) {
          path.chosen[k]++;
          path.length = k + 1;
          this.guide = null;
          return k;
        }
        continue;
      }
      const cand = path.backtrack[k] & path.eligible[k] & ~path.done[k] & ~path.sleep[k] & this.allowed(k);
      if (cand !== 0) {
        const c = lowest(cand);
        path.chosen[k] = c;
        path.done[k] |= bit(c);
        path.length = k + 1;
        const g = this.guides[k];
        this.guide = g?.[c] ?? null;
        this.guidePos = 0;
        return k;
      }
    }
    path.length = 0;
    return -1;
  }

  /** Threads that node k may choose without exceeding the preemption bound. */
  private allowed(k: number): number {
    const path = this.path;
    return path.preemptive[k] === 1 && path.preemptions[k] >= this.bound ? bit(path.prev[k]) : -1;
  }

  nextThread(x: Execution): Thread | null {
    const threads = x.rt.threads;
    const em = x.eligibleMask;
    const path = this.path;
    const k = this.pos;
    let c: number;
    if (k < path.length) {
      if (path.kind[k] !== THREAD_NODE || path.eligible[k] !== em) this.nondeterministic(x, k);
      c = path.chosen[k];
    } else {
      const prev = x.prev === null ? -1 : x.prev.id;
      const preemptive = x.prevPreemptible;
      const allowed = preemptive && x.preemptions >= this.bound ? bit(prev) : -1;
      // A node with one thread to run has one way on: its state is looked up at the next branch point.
      if (this.states !== null && (em & allowed & ((em & allowed) - 1)) !== 0 && this.seen(x, k, prev, preemptive)) {
        this.stats.cached++;
        return null;
      }
      if ((em & ~allowed) !== 0) this.stats.boundCuts++;
      const avail = em & ~this.curSleep & allowed;
      if (avail === 0) {
        this.stats.blocked++;
        return null;
      }
      c = prev >= 0 && (avail & bit(prev)) !== 0 ? prev : lowest(avail);
      if (k < this.topDepth && k < this.branch!.prefix.length) {
        c = this.branch!.prefix[k];
        if ((avail & bit(c)) === 0) this.nondeterministic(x, k);
      }
      const g = this.guide;
      if (g !== null) {
        const want = this.guidePos < g.length ? g[this.guidePos++] : -1;
        if (want >= 0 && (avail & bit(want)) !== 0) c = want;
        else this.guide = null;
      }
      this.guides[k] = null;
      // A node of the split tries every thread allowed; below it, DPOR adds what races ask for.
      path.push(THREAD_NODE, c, (this.por === 'dpor' && k >= this.splitDepth) || k < this.topDepth ? bit(c) : em & allowed);
      if (k < this.topDepth) {
        // Threads other branches tried here, and those a spin followed there (Branch.spun; not told: all).
        const tried = this.branch!.tried?.[k] ?? 0;
        path.done[k] |= tried;
        path.spinAfter[k] |= this.branch!.spun?.[k] ?? tried;
      }
      // Without races to go by, a node of the top asks for every other thread allowed there.
      if (this.por !== 'dpor' && k < this.topDepth && k >= this.branch!.prefix.length) {
        for (let r = em & allowed & ~bit(c); r !== 0; r &= r - 1) this.requestAt(k, bit(lowest(r)), lowest(r));
      }
      path.eligible[k] = em;
      path.sleep[k] = this.curSleep;
      path.prev[k] = prev;
      path.preemptive[k] = preemptive ? 1 : 0;
      path.preemptions[k] = x.preemptions;
      if (path.length > this.stats.maxPath) this.stats.maxPath = path.length;
    }
    const t = threads[c];
    const op = t.op;
    if (this.sleepSets) {
      // Sleep set of the next node: threads asleep here or explored here before c
      // (unless a spin followed their step here: it touches the yields, as c does),
      // whose announced step commutes with c's.
      let s = (path.sleep[k] | (path.done[k] & ~path.spinAfter[k])) & ~bit(c);
      let child = 0;
      while (s !== 0) {
        const q = lowest(s);
        s &= s - 1;
        if (!opsConflict(threads[q].op, op)) child |= bit(q);
      }
      this.curSleep = child;
    }
    if (this.traced(x)) this.trace!.step(c, op);
    this.dirt?.step(c, op);
    this.stepNode[x.step] = k;
    this.nodeStep[k] = x.step;
    this.lastNode[c] = k;
    this.pos = k + 1;
    if (this.observer !== null) this.observe(x.step, c, op);
    if (this.por === 'dpor' && x.step >= this.hb.steps) {
      this.recordStep(x, c, op, x.fairSpin ? SHARED : -1);
    }
    return t;
  }

  forcedStep(x: Execution, t: Thread): void {
    // A LOCAL step races with nothing; a spin, only through the yields it
    // makes (HappensBefore's YIELDS), reversed at the last choice before it.
    // A spin starts an empty sleep set: it writes the yields, which every chosen step touches.
    this.stepNode[x.step] = -1;
    const after = this.pos - 1;
    if (this.por === 'dpor') this.forcedAfter[x.step] = after;
    const spin = (t.op & KIND_MASK) === SPIN;
    if (spin && x.fairSpin && after >= 0 && this.path.kind[after] === THREAD_NODE) {
      // The spin is one with the step just chosen, and with its own thread's last.
      const path = this.path;
      path.spinAfter[after] |= bit(path.chosen[after]);
      const own = this.lastNode[t.id];
      if (own >= 0) path.spinAfter[own] |= bit(t.id);
    }
    if (this.traced(x)) this.trace!.step(t.id, t.op);
    this.dirt?.step(t.id, t.op);
    if (spin && x.fairSpin) this.curSleep = 0;
    if (this.observer !== null) this.observe(x.step, t.id, t.op);
    if (this.por === 'dpor' && x.step >= this.hb.steps) {
      this.recordStep(x, t.id, t.op, spin && x.fairSpin ? WRITE : -1);
    }
  }

  /** DPOR: records the next step (thread p, op) in the happens-before, with what enabled p since its last step. */
  private recordStep(x: Execution, p: number, op: number, yieldAccess: number): void {
    const last = this.hb.lastStep[p];
    const w = x.wokenAt[p];
    const r = x.releasedAt[p];
    this.hb.record(x.step, p, op, w > last ? w : -1, x.rt.threads.length, this, yieldAccess, r > last ? r : -1);
  }

  /**
   * With por 'states': the current step goes into the trace. The trace keeps
   * the steps this execution shares with the previous one (`replayed`), and
   * re-running them changes nothing there.
   */
  private traced(x: Execution): boolean {
    return this.trace !== null && x.step >= this.replayed;
  }

  /**
   * With por 'states': true when the state at new node k was explored before
   * (its whole subtree then has been, or is being, explored: DFS order),
   * otherwise remembers it. The state is named by the trace of the steps so
   * far, which gives the model's state, and what the scheduler knows beyond
   * the model: the step count, the preemptions spent, the last thread and
   * whether leaving it is a preemption, and the fair-spin rules' book-keeping
   * (the threads that just spun, whom each yielding thread still yields to,
   * probation, and what each thread's stuck test will count of the writes
   * since its last spin: SpinDirt). Not at the nodes of a split or of a
   * branch's top, whose alternatives other subtrees take.
   */
  private seen(x: Execution, k: number, prev: number, preemptive: boolean): boolean {
    if (k < this.topDepth || k < this.splitDepth) return false;
    // A probe must not add states it will not explore. Once the split is
    // known, it has learnt the split's nodes and ends; before (its first
    // execution, which shows where the split goes), it runs to the end.
    if (this.probe) return this.splitDepth >= 0;
    const t = this.trace!;
    const dirt = this.dirt!;
    // Each lane folds in one value at a time, so that no two of them can cancel out.
    let a = fmix(t.lane1 ^ fmix(x.step + 0x632be5ab));
    a = fmix(a ^ x.spun);
    a = fmix(a ^ dirt.key1());
    let b = fmix(t.lane2 ^ fmix(x.preemptions * 67 + prev + 2 + (preemptive ? 0x40000000 : 0)));
    b = fmix(b ^ x.probation);
    b = fmix(b ^ fmix(x.lastWasProbation + 0x165667b1));
    b = fmix(b ^ dirt.key2());
    for (let m = x.yielding; m !== 0; m &= m - 1) {
      const i = lowest(m);
      a = fmix(a ^ Math.imul(i + 1, 0x9e3779b1) ^ x.yieldTo[i]);
    }
    return this.states!.visit(a, b);
  }

  /** Tells the observer of step j, keeping its op for the races it may be in. */
  private observe(j: number, thread: number, op: number): void {
    this.stepOp[j] = op;
    this.observer!.step?.(thread, op);
  }

  race(e: number, initials: number, p: number, j: number): void {
    const path = this.path;
    // A spin is taken at once after the last choice: the reversal goes before that choice.
    const k = this.stepNode[e] >= 0 ? this.stepNode[e] : this.forcedAfter[e];
    if (k < 0) return;
    if (k < this.topDepth) {
      const q = this.requestReversal(k, initials, p);
      if (this.addFreeSwitch(k, q, initials, e, p) || q >= 0) this.observer?.backtrack?.(this.hb.threadOf(e), this.stepOp[e], p, this.stepOp[j]);
      return;
    }
    const before = path.backtrack[k];
    const q = this.addBacktrack(k, initials, p);
    if (q >= 0 && path.backtrack[k] !== before) this.setGuide(k, q, e, j, p);
    const freeSwitch = this.addFreeSwitch(k, q, initials, e, p);
    if (freeSwitch || path.backtrack[k] !== before) this.observer?.backtrack?.(this.hb.threadOf(e), this.stepOp[e], p, this.stepOp[j]);
  }

  /**
   * With a preemption bound, when reversing a race at node k (thread q) costs
   * a preemption, also tries the thread from the latest earlier point where
   * switching to it is free, so that a schedule within the bound can reach the
   * same reordering (Coons et al. 2013); and, when the bound forbids q at k,
   * first from the latest earlier node the bound allows, where the reordering
   * can spend the preemption the execution spent later on another thread.
   * True when that added a thread.
   */
  private addFreeSwitch(k: number, q: number, initials: number, e: number, p: number): boolean {
    const path = this.path;
    if (q < 0 || this.bound === Number.POSITIVE_INFINITY) return false;
    if (path.preemptive[k] === 0 || q === path.prev[k]) return false;
    let forbidden = (this.allowed(k) & bit(q)) === 0;
    let added = false;
    for (let k2 = k - 1; k2 >= 0; k2--) {
      if (path.kind[k2] !== THREAD_NODE) continue;
      const free = path.preemptive[k2] === 0;
      if (!free && !forbidden) continue;
      const any = initials & path.eligible[k2] & this.allowed(k2);
      if (any === 0) continue;
      // Threads whose reversed step does not depend on what ran since k2 start
      // the same reversal there; one already tried at k2 covers it only then.
      const exact = this.hb.initialsFrom(p, initials, this.nodeStep[k2], e) & any;
      const c2 = exact !== 0 ? exact : any;
      // When the racing thread itself can start the reversal here, it must be
      // tried here: from another initial's branch, reaching p's reordering may
      // take a preemption the bound no longer has (3x1x1 bound 1: 808 of
      // plain DFS's 831 traces without this, all 831 with it).
      const want = (c2 & bit(p)) !== 0 ? bit(p) : c2;
      if ((want & (k2 < this.topDepth ? path.done[k2] : path.backtrack[k2])) === 0) {
        const q2 = lowest(want);
        if (k2 < this.topDepth) this.requestAt(k2, c2, q2);
        else path.backtrack[k2] |= bit(q2);
        added = true;
      }
      if (free) return added;
      forbidden = false;
    }
    return added;
  }

  /**
   * Remembers how to replay the reversed race when thread q is tried at node k:
   * the wakeup sequence v without q's first step (taken at k). Following it at
   * the new nodes after k, instead of the default choice, avoids many
   * executions that would end with every thread asleep.
   */
  private setGuide(k: number, q: number, e: number, j: number, p: number): void {
    // Threads of the steps of v that are choices (local steps are taken on their own).
    const v: number[] = [];
    for (const m of this.hb.notdep(e, j)) {
      if (m === j) v.push(p);
      else if (this.stepNode[m] >= 0) v.push(this.hb.threadOf(m));
    }
    const i = v.indexOf(q);
    if (i >= 0) v.splice(i, 1);
    let g = this.guides[k];
    if (g === undefined || g === null) {
      g = [];
      this.guides[k] = g;
    }
    g[q] = v;
  }

  /**
   * addBacktrack at node k of the top, which tries only its own choice: the
   * alternatives go to other branches. Whether one is asked for depends only
   * on this race and the branch (its choices up to k, and what was tried
   * before them), not on what other branches asked for, which only the rounds
   * know; so the branches asked for do not depend on which worker explored
   * what first. Returns the thread the reversal starts with (-1 when every
   * eligible thread was asked for).
   */
  private requestReversal(k: number, initials: number, p: number): number {
    const path = this.path;
    const allowed = this.allowed(k);
    const own = path.chosen[k];
    const present = initials & path.done[k] & allowed;
    if (present !== 0) return (present & bit(p)) !== 0 ? p : lowest(present);
    const c = initials & path.eligible[k] & allowed;
    if (c !== 0) {
      const q = (c & bit(p)) !== 0 ? p : lowest(c);
      this.requestAt(k, c, q);
      return q;
    }
    if ((initials & path.eligible[k]) !== 0) {
      const q = initials & path.eligible[k];
      return (q & bit(p)) !== 0 ? p : lowest(q);
    }
    let all = path.eligible[k] & allowed & ~bit(own);
    while (all !== 0) {
      const q = lowest(all);
      this.requestAt(k, bit(q), q);
      all &= all - 1;
    }
    return -1;
  }

  /** Asks for one of `candidates` (`preferred` first) at node k of the top, unless one is tried there already. */
  private requestAt(k: number, candidates: number, preferred: number): void {
    const path = this.path;
    if ((candidates & (path.kind[k] === THREAD_NODE ? path.done[k] : bit(path.chosen[k]))) !== 0) return;
    this.branch!.request(k, candidates, preferred, path.kind[k] === THREAD_NODE ? path.sleep[k] : 0);
  }

  /**
   * Source-DPOR's backtrack update at node k: unless a thread of `initials` is
   * already to be tried there, adds one (p if it can); returns the thread the
   * reversal starts with, or -1. Threads over the preemption bound at k are
   * left out; if no initial can run at k, every eligible thread is added.
   */
  private addBacktrack(k: number, initials: number, p: number): number {
    const path = this.path;
    const allowed = this.allowed(k);
    const present = initials & path.backtrack[k] & allowed;
    if (present !== 0) return (present & bit(p)) !== 0 ? p : lowest(present);
    const c = initials & path.eligible[k] & allowed;
    if (c !== 0) {
      const q = (c & bit(p)) !== 0 ? p : lowest(c);
      path.backtrack[k] |= bit(q);
      return q;
    }
    if ((initials & path.eligible[k]) !== 0) {
      // Over the preemption bound here: the caller tries an earlier point.
      const q = initials & path.eligible[k];
      return (q & bit(p)) !== 0 ? p : lowest(q);
    }
    // No thread of the reversed order can start here (spinning without progress): try them all.
    path.backtrack[k] |= path.eligible[k] & allowed;
    return -1;
  }

  nextDraw(x: Execution, n: number, w?: Weighted): number {
    if (!this.explore || n <= 1 || n > this.maxDrawBranch) return this.seeded.below(n, x.rt.current?.id ?? -1, w);
    const path = this.path;
    const k = this.pos;
    let v = 0;
    if (k < path.length) {
      if (path.kind[k] !== DRAW_NODE || path.backtrack[k] !== n) this.nondeterministic(x, k);
      v = path.chosen[k];
    } else {
      // The top draws what the prefix says, or 0, and asks for the branches of the other values.
      const fresh = k < this.topDepth && k >= this.branch!.prefix.length;
      if (k < this.topDepth && !fresh) v = this.branch!.prefix[k];
      path.push(DRAW_NODE, v, n);
      if (fresh) for (let alt = 1; alt < n; alt++) this.requestAt(k, bit(alt), alt);
      if (path.length > this.stats.maxPath) this.stats.maxPath = path.length;
    }
    this.nodeStep[k] = x.step;
    this.pos = k + 1;
    if (this.traced(x)) this.trace!.amend(x.rt.current?.id ?? -1, v);
    return v;
  }

  endExecution(x: Execution, outcome: Outcome): void {
    this.observer?.end?.(outcome);
    if (this.branch !== null && !this.reachedTop) {
      this.reachedTop = true;
      const n = Math.min(this.topDepth, this.path.length);
      const path = this.path;
      const spins = Array.from({ length: n }, (_, k) => (path.kind[k] === THREAD_NODE && (path.spinAfter[k] & bit(path.chosen[k])) !== 0 ? 1 : 0));
      this.branch.reached(path.chosen.slice(0, n), spins);
    }
    if (outcome !== 'model-bug' && this.pos < this.path.length) this.nondeterministic(x, this.pos);
  }

  exhausted(): boolean {
    return this.isExhausted;
  }

  private nondeterministic(x: Execution, k: number): never {
    throw new NondeterministicModel(
      `dfs: the model is not deterministic: re-executing step ${x.step} (path node ${k}) did not reach the same state ` +
        'as before; the instance factory must build every instance from scratch, with no state shared between ' +
        'instances and randomness only from rt.draw',
    );
  }
}
