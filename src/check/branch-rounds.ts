import type { Violation } from '../runtime/instance.js';
import type { Schedule } from '../runtime/schedule.js';
import { type Branch, type BranchOutcome, type BranchRequest, exploreBranch, topDepthFor } from './branch.js';
import type { DfsOptions } from './dfs.js';
import type { ExploreOptions, ModelBugReport } from './explore.js';
import type { InstanceFactory } from './factory.js';
import { Ledger, type PartRecord } from './ledger.js';
import type { StopReason, Summary } from './summary.js';
import { bit, popcount } from './thread-mask.js';
import { TopTried } from './top-tried.js';

/**
 * A DFS whose top is shared out branch by branch, in rounds, so that workers
 * can explore branches side by side and still give the same result as one
 * thread. Round 0 is the root branch (the default choice everywhere). Each
 * round's branches are explored independently (exploreBranch); then what they
 * asked for at the nodes of the top is settled, in an order that depends only
 * on the requests, the way DPOR settles a race: a request is met when one of
 * its candidates is already tried at its node, and otherwise its preferred
 * thread is added there, as a branch of the next round. Until no round is
 * left.
 *
 * Every request is met, as DPOR's backtrack update requires, so the branches
 * cover what one DFS covers (tests, with trace-set.ts). Unbounded, they run
 * one DFS's executions or a few more (fault-vs-invalidation-mini 1x1x1 with
 * retries interleaved: 2,780, as one DFS; 2x1x1 deferred: 82,337 against
 * 74,193, measured 2026-12-08); with preemption bound 1 and retries interleaved, as many as one
 * DFS (3x2x1: 84,470; 3x3x2: 238,682).
 *
 * The result is the first violation (or model bug) in the order of rounds,
 * then of branches within a round, with the figures of every branch up to it:
 * a round's branches can be run in any order, and by anyone. (The CLI's
 * workers stop at a violation and run one DFS instead: see branch-workers.ts.)
 */
export class BranchRounds {
  /** What was tried at the nodes of the top. */
  private readonly tried = new TopTried();
  /** The branches of the current round, in order. */
  private round: Branch[] = [{ prefix: [], tried: [] }];
  private readonly ledger = new Ledger();
  /** Branches settled. */
  private branches = 0;
  private executions = 0;
  /** Executions the mutant acted in, over the branches settled; null while none counted any (no mutant). */
  private mutantActed: number | null = null;
  /** Rounds settled. */
  rounds = 0;
  /** The branch whose violation or model bug ended the exploration, or null. */
  stop: BranchOutcome | null = null;
  /** Unit (branch number) of `stop`. */
  private stopUnit: number | null = null;
  /** Why a branch stopped short of its end (a limit), or null. */
  private cut: StopReason | null = null;

  /** The branches of the round to explore next, in order; empty when the exploration is over. */
  next(): readonly Branch[] {
    return this.round;
  }

  /**
   * Takes the outcomes of the round's branches, in its order. After a branch
   * that stopped (violation, model bug or a limit), later ones may be missing
   * (undefined): they do not count. A branch missing before that means the
   * run was cut short: the exploration ends there, not exhausted.
   */
  settle(outcomes: readonly (BranchOutcome | undefined)[]): void {
    const round = this.round;
    this.rounds++;
    const requests: Asked[] = [];
    for (const [i, o] of outcomes.entries()) {
      if (o === undefined) {
        // A branch that never ran (the run was cut short): the rounds end here, not exhausted.
        this.cut = 'interrupted';
        break;
      }
      this.ledger.addUnit([this.branches, o.executions, o.maxDepth, o.truncated, o.redundant]);
      this.executions += o.executions;
      if (o.mutantActed !== undefined) this.mutantActed = (this.mutantActed ?? 0) + o.mutantActed;
      this.branches++;
      this.tried.add(o);
      const b = round[i]!;
      for (const request of o.requests) requests.push({ request, from: b.tried, fromSpun: b.spun ?? b.tried });
      if (o.stoppedBy === 'violation' || o.stoppedBy === 'model-bug') {
        this.stop = o;
        this.stopUnit = this.branches - 1;
        break;
      }
      if (o.stoppedBy !== 'exhausted') {
        this.cut = o.stoppedBy;
        break;
      }
    }
    this.round = this.stop !== null || this.cut !== null ? [] : meetRequests(this.tried, requests);
  }

  /** The figures so far as one exploration's summary (wall time given). */
  summary(wallMs: number, maxDepth: number, firstCounterexampleMs: number | null): Summary {
    const record = this.record();
    let truncated = 0;
    let redundant = 0;
    for (const e of record.entries) {
      truncated += e[3];
      redundant += e[4];
    }
    const exhausted = this.round.length === 0 && this.stop === null && this.cut === null;
    const stoppedBy: StopReason = this.stop?.stoppedBy ?? this.cut ?? (exhausted ? 'exhausted' : 'interrupted');
    return {
      strategy: 'dfs',
      executions: this.executions,
      exhausted,
      stoppedBy,
      maxDepth,
      truncated,
      redundant,
      wallMs,
      executionsPerSec: (this.executions * 1000) / Math.max(wallMs, 1e-3),
      firstCounterexampleMs,
      violationExecution: this.stop?.violation != null ? this.executions - 1 : null,
      ...(this.mutantActed !== null && this.stop === null ? { mutantActedExecutions: this.mutantActed } : {}),
    };
  }

  /** The figures by branch (the units), as one part's record. */
  record(): PartRecord {
    return this.ledger.record({ index: 0, count: 1 }, this.stopUnit);
  }

  /** Branches settled so far. */
  get settled(): number {
    return this.branches;
  }
}

/** A request, and the tried and spun masks of the branch that asked (DfsBranch.tried, DfsBranch.spun). */
export interface Asked {
  request: BranchRequest;
  from: readonly number[];
  fromSpun: readonly number[];
}

/**
 * The branches that meet `requests` (those not met by what `tried` holds
 * already), in an order that depends only on the requests: by node, the most
 * constrained first, so that one thread added meets as many as it can.
 * `tried` is updated. A new branch carries, per node of its prefix, what was
 * tried there before: the asking branch's masks up to the node (none past its
 * own prefix, where it took the first choice), then what the node had.
 */
export function meetRequests(tried: TopTried, requests: readonly Asked[]): Branch[] {
  const keyed = requests.map(({ request: r, from, fromSpun }) => ({ r, from, fromSpun, key: r.at.join(',') }));
  keyed.sort((a, b) =>
    a.key < b.key
      ? -1
      : a.key > b.key
        ? 1
        : popcount(a.r.candidates) - popcount(b.r.candidates) || a.r.candidates - b.r.candidates || a.r.preferred - b.r.preferred,
  );
  const next: Branch[] = [];
  for (const { r, from, fromSpun, key } of keyed) {
    const have = tried.at(key);
    if ((have & r.candidates) !== 0) continue;
    tried.addTried(key, bit(r.preferred));
    // One DFS would add it and never try it (asleep there: covered elsewhere).
    if ((r.asleep & bit(r.preferred)) !== 0) continue;
    const before = Array.from({ length: r.at.length }, (_, k) => from[k] ?? 0);
    const spunBefore = Array.from({ length: r.at.length }, (_, k) => fromSpun[k] ?? 0);
    next.push({ prefix: [...r.at, r.preferred], tried: [...before, have], spun: [...spunBefore, tried.spunAt(key, have)] });
  }
  return next;
}

/**
 * The branches round 1 asks for if the root branch's later executions ask
 * for nothing at the top beyond what its first one did (`first`, from
 * firstExecution): a guess, for workers that would otherwise wait while the
 * root branch runs alone. A guessed branch is of use only where one asked
 * for has its prefix, tried and spun (sameBranch): its outcome is then the
 * same, whoever explored it and when.
 */
export function guessRoundOne(first: Pick<BranchOutcome, 'top' | 'topSpins' | 'requests'>): Branch[] {
  const tried = new TopTried();
  tried.add(first);
  return meetRequests(
    tried,
    first.requests.map((request) => ({ request, from: [], fromSpun: [] })),
  );
}

/** True when `a` and `b` are the same branch: the same prefix, and the same tried and spun at its nodes. */
export function sameBranch(a: Branch, b: Branch): boolean {
  const same = (x: readonly number[] | undefined, y: readonly number[] | undefined) =>
    x === y || (x !== undefined && y !== undefined && x.length === y.length && x.every((v, i) => v === y[i]));
  return same(a.prefix, b.prefix) && same(a.tried, b.tried) && same(a.spun ?? a.tried, b.spun ?? b.tried);
}

/** What exploring the branches of a DFS's top found. */
export interface BranchesResult {
  summary: Summary;
  violation: Violation | null;
  schedule: Schedule | null;
  modelBug: ModelBugReport | null;
  part: PartRecord;
  /** Nodes of the top, branches and rounds. */
  top: { depth: number; branches: number; rounds: number };
}

/** The result of finished rounds. */
export function branchesResult(rounds: BranchRounds, depth: number, wallMs: number, firstCounterexampleMs: number | null): BranchesResult {
  const part = rounds.record();
  const maxDepth = part.entries.reduce((m, e) => Math.max(m, e[2]), 0);
  const stop = rounds.stop;
  return {
    summary: rounds.summary(wallMs, maxDepth, firstCounterexampleMs),
    violation: stop?.violation ?? null,
    schedule: stop?.violation != null ? stop.schedule : null,
    modelBug: stop?.modelBug ?? null,
    part,
    top: { depth, branches: rounds.settled, rounds: rounds.rounds },
  };
}

/**
 * The rounds run on this thread, one branch after another: what workers
 * running them side by side give too (tests), and where the cost of sharing
 * out the top is measured.
 */
export function exploreBranches(factory: InstanceFactory, dfs: DfsOptions, options: ExploreOptions = {}): BranchesResult {
  const clock = options.clock ?? (() => performance.now());
  const t0 = clock();
  const deadline = t0 + (options.timeLimitMs ?? Number.POSITIVE_INFINITY);
  const depth = topDepthFor(factory, dfs, options);
  const rounds = new BranchRounds();
  let firstCex: number | null = null;
  for (let round = rounds.next(); round.length > 0; round = rounds.next()) {
    const outcomes: BranchOutcome[] = [];
    for (const b of round) {
      const o = exploreBranch(factory, dfs, b, depth, { ...options, progress: null, timeLimitMs: deadline - clock() });
      outcomes.push(o);
      if (o.stoppedBy !== 'exhausted') {
        if (o.violation !== null) firstCex = clock() - t0;
        break;
      }
    }
    rounds.settle(outcomes);
  }
  return branchesResult(rounds, depth, clock() - t0, firstCex);
}
