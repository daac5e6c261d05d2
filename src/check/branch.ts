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
  /** Mask of the threads (or values drawn) any one of which would do there. */
  candidates: number;
  /** The one to take when none of them is tried there yet. */
  preferred: number;
}

/** What exploring one branch of a DFS's top found: plain data, so it can cross threads. */
export interface BranchOutcome {
  /** The choices the branch was started with. */
  prefix: number[];
  /** The choices its first execution made at the nodes of the top. */
  top: number[];
  /** The alternatives it asked for, each once, in the order first asked. */
  requests: BranchRequest[];
  executions: number;
  maxDepth: number;
  truncated: number;
  redundant: number;
  /** 'exhausted' when the branch was explored to the end. */
  stoppedBy: StopReason;
  violation: Violation | null;
  /** The schedule of the violation (or model bug), or null. */
  schedule: Schedule | null;
  modelBug: ModelBugReport | null;
}

/**
 * Explores, with DPOR, the executions that follow `prefix` through the first
 * `depth` nodes of the tree (default choices past the prefix), stopping at a
 * violation or a model bug. What races ask for in the top is returned as
 * requests, not explored.
 */
export function exploreBranch(
  factory: InstanceFactory,
  dfs: DfsOptions,
  prefix: number[],
  depth: number,
  options: ExploreOptions,
): BranchOutcome {
  // Every execution of the branch goes through the same top and meets the same
  // races there again: each request is kept once, as [node, candidates, preferred].
  const asked = new Set<number>();
  const raw: number[][] = [];
  const request = (node: number, candidates: number, preferred: number) => {
    const key = (node * 2 ** 32 + (candidates >>> 0)) * 32 + preferred;
    if (asked.has(key)) return;
    asked.add(key);
    raw.push([node, candidates, preferred]);
  };
  let top: number[] = [];
  const branch = { prefix, depth, request, reached: (t: number[]) => (top = t) };
  const { strategy, execution } = reusable(dfs, branch);
  const r = explore(factory, strategy, { ...options, shard: null, claims: null, maxExecutions: undefined, execution });
  const s = r.summary;
  return {
    prefix,
    top,
    requests: raw.map(([node, candidates, preferred]) => ({ at: top.slice(0, node), candidates, preferred })),
    executions: s.executions,
    maxDepth: s.maxDepth,
    truncated: s.truncated,
    redundant: s.redundant,
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
 * Nodes of the top to share out: half the path of the first execution. On
 * fault-vs-invalidation-mini 3x2x1 with preemption bound 1 (a 62-node path),
 * half gives 975 branches, the biggest of 2,052 executions, and the branches
 * add up to 60,704 executions against one DFS's 61,960; the whole path gives
 * 4,327 branches of at most 390 executions, but 61,851 executions and about
 * 0.3 ms more per branch, and two workers took longer (5.0 s against 4.2 s).
 */
export function topDepthFor(factory: InstanceFactory, dfs: DfsOptions, options: ExploreOptions): number {
  const probe = new DfsStrategy({ ...dfs, split: undefined, branch: undefined, observer: undefined });
  explore(factory, probe, { ...options, shard: null, claims: null, maxExecutions: 1, progress: null });
  return Math.max(1, Math.ceil(probe.stats.maxPath / 2));
}
