import type { Violation } from '../runtime/instance.js';
import type { Schedule } from '../runtime/schedule.js';
import { type DfsBranch, type DfsOptions, DfsStrategy } from './dfs.js';
import { Execution } from './execution.js';
import { type ExploreOptions, explore, type ModelBugReport } from './explore.js';
import type { InstanceFactory } from './factory.js';
import type { StopReason } from './summary.js';

/** An alternative a branch asks for at a node of the top (see DfsBranch.request). */
export interface BranchRequest {
  /** The choices before the node. */
  at: number[];
  /** The node's sleep set: a candidate asleep there is covered elsewhere. */
  asleep: number;
  /** Mask of the threads (or values drawn) any one of which would do there. */
  candidates: number;
  /** The one to take when none of them is tried there yet. */
  preferred: number;
}

/**
 * A branch of the top: its choices, per node the threads tried there before,
 * and those of them that a spin followed there or that have not told (DfsBranch).
 */
export interface Branch {
  prefix: number[];
  tried: number[];
  spun?: number[];
}

/** What exploring one branch of a DFS's top found: plain data, so it can cross threads. */
export interface BranchOutcome {
  /** The choices the branch was started with. */
  prefix: number[];
  /** The choices its first execution made at the nodes of the top. */
  top: number[];
  /** Per node of `top`: 1 when a spin followed the step chosen there at once (DfsBranch.reached). */
  topSpins: number[];
  /** The alternatives it asked for, each once, in the order first asked. */
  requests: BranchRequest[];
  executions: number;
  maxDepth: number;
  truncated: number;
  redundant: number;
  /** Executions the mutant acted in (Summary.mutantActedExecutions), absent without one. */
  mutantActed?: number;
  /** 'exhausted' when the branch was explored to the end. */
  stoppedBy: StopReason;
  violation: Violation | null;
  /** The schedule of the violation (or model bug), or null. */
  schedule: Schedule | null;
  modelBug: ModelBugReport | null;
}

/**
 * Explores, with DPOR, the executions that follow the branch's prefix through
 * the first `depth` nodes of the tree (default choices past the prefix),
 * stopping at a violation or a model bug; its `tried` and `spun` say what was
 * tried before at the nodes of the prefix (see DfsBranch). What races ask for
 * in the top is returned as requests, not explored.
 */
export function exploreBranch(factory: InstanceFactory, dfs: DfsOptions, b: Branch, depth: number, options: ExploreOptions): BranchOutcome {
  return runBranch(factory, dfs, b, depth, { ...options, maxExecutions: undefined }, reusable);
}

/**
 * The first execution of the root branch (default choices everywhere) with a
 * top of `depth` nodes: what it chose and asked for there, as the root
 * branch's outcome says after all its executions. The requests of later
 * executions may add to them (see guessRoundOne).
 */
export function firstExecution(factory: InstanceFactory, dfs: DfsOptions, depth: number, options: ExploreOptions): BranchOutcome {
  const fresh = (d: DfsOptions, branch: DfsBranch) => ({ strategy: new DfsStrategy({ ...d, split: undefined, branch }), execution: new Execution() });
  return runBranch(factory, dfs, { prefix: [], tried: [] }, depth, { ...options, progress: null, maxExecutions: 1 }, fresh);
}

function runBranch(
  factory: InstanceFactory,
  dfs: DfsOptions,
  b: Branch,
  depth: number,
  options: ExploreOptions,
  strategyFor: (dfs: DfsOptions, branch: DfsBranch) => { strategy: DfsStrategy; execution: Execution },
): BranchOutcome {
  const { prefix, tried = [], spun } = b;
  // Every execution of the branch goes through the same top and meets the same
  // races there again: each request is kept once, as [node, candidates, preferred].
  const asked = new Set<number>();
  const raw: number[][] = [];
  const request = (node: number, candidates: number, preferred: number, asleep: number) => {
    const key = (node * 2 ** 32 + (candidates >>> 0)) * 32 + preferred;
    if (asked.has(key)) return;
    asked.add(key);
    raw.push([node, candidates, preferred, asleep]);
  };
  let top: number[] = [];
  let topSpins: number[] = [];
  const reached = (t: number[], spins: number[]) => {
    top = t;
    topSpins = spins;
  };
  const branch = { prefix, tried, spun, depth, request, reached };
  const { strategy, execution } = strategyFor(dfs, branch);
  const r = explore(factory, strategy, { ...options, shard: null, claims: null, execution });
  const s = r.summary;
  return {
    prefix,
    top,
    topSpins,
    requests: raw.map(([node, candidates, preferred, asleep]) => ({ at: top.slice(0, node), asleep, candidates, preferred })),
    executions: s.executions,
    maxDepth: s.maxDepth,
    truncated: s.truncated,
    redundant: s.redundant,
    ...(s.mutantActedExecutions !== undefined ? { mutantActed: s.mutantActedExecutions } : {}),
    stoppedBy: s.stoppedBy,
    violation: r.violation,
    schedule: r.schedule ?? r.modelBug?.schedule ?? null,
    modelBug: r.modelBug,
  };
}

/** The strategy and execution of the last branch explored on this thread, for the next with the same options. */
let last: { dfs: DfsOptions; strategy: DfsStrategy; execution: Execution } | null = null;

function reusable(dfs: DfsOptions, branch: DfsBranch): { strategy: DfsStrategy; execution: Execution } {
  if (last !== null && last.dfs === dfs) {
    last.strategy.restart(branch);
    return last;
  }
  last = { dfs, strategy: new DfsStrategy({ ...dfs, split: undefined, branch }), execution: new Execution() };
  return last;
}

/**
 * Nodes of the top to share out: a quarter of the first execution's path with
 * a preemption bound, three quarters without. Each branch costs about 0.4 ms
 * beyond its executions, so the top must not cut the tree too fine. With
 * retries deferred (RetryRule), fault-vs-invalidation-mini 3x2x1 with bound 2
 * (121,546 executions, 4.9 s on one worker) gave 13,844 branches at half its
 * 62-node path, 6.3 s on two workers, and 1,241 at a quarter, 3.8 s; 3x3x2
 * with bound 2, 30,942 branches and 17.9 s at a half, 2,651 and 6.8 s at a
 * quarter (10.3 s on one). With retries interleaved, 3x3x2 with bound 1 ran
 * as fast at a quarter (325 branches) as at a half (1,969). Unbounded, most
 * of the tree lies deeper: 1x3x1 (deferred) ran as fast with 2,089 branches
 * at three quarters as with 57 at a third; on 1x2x1 (interleaved) 23 nodes
 * gave 71 branches, one of 7,576 executions of 31,621, which left a worker
 * idle an eighth of the time.
 */
export function topDepthFor(factory: InstanceFactory, dfs: DfsOptions, options: ExploreOptions): number {
  const probe = new DfsStrategy({ ...dfs, split: undefined, branch: undefined, observer: undefined });
  explore(factory, probe, { ...options, shard: null, claims: null, maxExecutions: 1, progress: null });
  const share = Number.isFinite(dfs.preemptionBound ?? Number.POSITIVE_INFINITY) ? 1 / 4 : 3 / 4;
  return Math.max(1, Math.ceil(probe.stats.maxPath * share));
}
