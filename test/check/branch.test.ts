import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exploreBranch, firstExecution, topDepthFor } from '../../src/check/branch.js';
import { BranchFlow, type FlowBranch, flowResult } from '../../src/check/branch-flow.js';
import { type BranchesResult, exploreBranches, guessRoundOne, sameBranch } from '../../src/check/branch-rounds.js';
import { type DfsOptions, DfsStrategy } from '../../src/check/dfs.js';
import { explore } from '../../src/check/explore.js';
import type { InstanceFactory } from '../../src/check/factory.js';
import { ReplayStrategy } from '../../src/check/replay.js';
import { SchedRng } from '../../src/check/rng.js';
import { TraceSet } from '../../src/check/trace-set.js';
import { factoryFor } from '../../src/cli/check-factory.js';
import { counter, drawing, seqProtocol } from './toys.js';

const mini = (n: number, i: number, f: number, mutant: string | null = null) =>
  factoryFor('fault-vs-invalidation-mini', [`vcpus=${n}`, `invalidations=${i}`, `faultsPerVcpu=${f}`], mutant);

/** One DFS, and its top shared out in branches, each with a TraceSet watching. */
function both(f: InstanceFactory, dfs: DfsOptions) {
  const one = new TraceSet();
  const whole = explore(f, new DfsStrategy({ ...dfs, observer: one }));
  const many = new TraceSet();
  const branches = exploreBranches(f, { ...dfs, observer: many });
  return {
    whole: { executions: whole.summary.executions, traces: one.size },
    branches: { executions: branches.summary.executions, traces: many.size },
    result: branches,
  };
}

test('branches: with a preemption bound, the branches of the top reach the traces one DFS reaches, in about as many executions', () => {
  for (const [f, bound] of [
    [mini(2, 1, 1), 1],
    [mini(2, 1, 1), 2],
    [mini(2, 2, 2), 1],
    [seqProtocol(2, 1, 1), 1],
    [counter(3, 2, true), 2],
  ] as const) {
    const { whole, branches, result } = both(f, { preemptionBound: bound, por: 'dpor' });
    assert.equal(result.summary.exhausted, true);
    assert.ok(result.top.branches > 1, 'the top is shared out');
    assert.ok(branches.traces >= whole.traces, `traces ${branches.traces} < ${whole.traces}`);
    assert.ok(branches.executions <= whole.executions * 1.1, `executions ${branches.executions} against ${whole.executions}`);
  }
});

test('branches: unbounded, the branches carry what was tried before them at the top (their sleep sets), and run what one DFS runs', () => {
  // Without it, 1x2x1 ran 611,154 executions without finishing, against one DFS's
  // 31,621 (both while spins were choices). Threads tried at a node of the top by
  // other branches carry whether a spin followed them there (Branch.spun): one
  // DFS's sleep sets need it, and without it 1x1x1 ran 86,164 against 2,180.
  for (const f of [mini(1, 1, 1), mini(1, 1, 2), seqProtocol(1, 1, 2), counter(3, 1, true)]) {
    const { whole, branches, result } = both(f, {});
    assert.equal(result.summary.exhausted, true);
    assert.ok(result.top.branches > 1, 'the top is shared out');
    assert.deepEqual(branches, whole);
  }
});

test('branches: draws in the top are branches too', () => {
  const f = drawing(2);
  const dfs: DfsOptions = { preemptionBound: 2, draws: 'explore', por: 'dpor' };
  const { whole, branches } = both(f, dfs);
  assert.equal(branches.traces, whole.traces);
});

test('branches: every fault-vs-invalidation mutant is found, and its schedule replays to the same violation', () => {
  for (const m of ['fault-skip-seq-check', 'fault-skip-range-check', 'invalidate-skip-tlb-flush', 'precheck-plain-read']) {
    const r = exploreBranches(mini(2, 2, 2, m), { preemptionBound: 1, por: 'dpor' });
    assert.equal(r.summary.stoppedBy, 'violation', m);
    assert.ok(r.violation !== null && r.schedule !== null);
    assert.equal(r.summary.violationExecution, r.summary.executions - 1);
    const again = explore(mini(2, 2, 2, m), new ReplayStrategy(r.schedule), { maxExecutions: 1 });
    assert.equal(again.violation?.kind, r.violation.kind, m);
  }
});

test('branches: a branch re-explored alone gives the same outcome (its strategy is reused, not its state)', () => {
  const f = mini(2, 1, 1);
  const depth = topDepthFor(f, { preemptionBound: 1, por: 'dpor' }, {});
  const root = exploreBranch(f, { preemptionBound: 1, por: 'dpor' }, { prefix: [], tried: [] }, depth, {});
  const alt = root.requests[0]!;
  const prefix = [...alt.at, alt.preferred];
  const a = exploreBranch(f, { preemptionBound: 1, por: 'dpor' }, { prefix, tried: [] }, depth, {});
  exploreBranch(f, { preemptionBound: 1, por: 'dpor' }, { prefix: [], tried: [] }, depth, {});
  const b = exploreBranch(f, { preemptionBound: 1, por: 'dpor' }, { prefix, tried: [] }, depth, {});
  assert.deepEqual(b, a);
  assert.deepEqual(a.top.slice(0, prefix.length), prefix);
});

test("branches: round 1 guessed from the root branch's first execution (what spare workers explore while the root runs alone): the first child of the root is guessed as round 1 asks for it, and a guess asked for gives the same outcome", () => {
  for (const [f, bound] of [
    [mini(3, 2, 1), 1],
    [mini(2, 1, 1), 2],
  ] as const) {
    const dfs: DfsOptions = { preemptionBound: bound, por: 'dpor' };
    const depth = topDepthFor(f, dfs, {});
    const guesses = guessRoundOne(firstExecution(f, dfs, depth, {}));
    const flow = new BranchFlow();
    const root = flow.take()!;
    flow.finish(root, exploreBranch(f, dfs, root, depth, {}));
    const asked: FlowBranch[] = [];
    for (let b = flow.take(); b !== undefined; b = flow.take()) asked.push(b);
    // The root's first child, the biggest branch of round 1 (3x2x1 with bound 2: 5,109 executions, the root 4,762).
    const child = asked.find((b) => b.prefix.length === 1)!;
    assert.ok(
      guesses.some((g) => sameBranch(g, child)),
      `bound ${bound}: [${child.prefix}] guessed`,
    );
    for (const g of guesses) {
      const b = asked.find((a) => sameBranch(g, a));
      if (b !== undefined) assert.deepEqual(exploreBranch(f, dfs, g, depth, {}), exploreBranch(f, dfs, b, depth, {}));
    }
  }
});

/**
 * The flow driven on this thread with `inFlight` branches running at once,
 * finishing in an order a seeded PRNG picks: what workers that finish in any
 * order would give.
 */
function flowInAnyOrder(f: InstanceFactory, dfs: DfsOptions, inFlight: number, seed: number): BranchesResult {
  const depth = topDepthFor(f, dfs, {});
  const flow = new BranchFlow();
  const rng = new SchedRng(seed);
  const running: FlowBranch[] = [];
  for (;;) {
    for (let b = flow.take(); b !== undefined && running.length < inFlight; b = running.length + 1 < inFlight ? flow.take() : undefined) running.push(b);
    if (running.length === 0) break;
    const [b] = running.splice(rng.below(running.length), 1);
    flow.finish(b!, exploreBranch(f, dfs, b!, depth, {}));
  }
  assert.equal(flow.done(), true);
  return flowResult(flow, depth, 0, false);
}

const figures = (r: BranchesResult) => ({
  ...r.summary,
  wallMs: 0,
  executionsPerSec: 0,
  firstCounterexampleMs: null,
  violation: r.violation,
  schedule: r.schedule,
  part: r.part,
  top: r.top,
});

test('branches: run as a flow, in any order of finishing, they give the result of the rounds run in turn', () => {
  for (const [f, bound] of [
    [mini(2, 2, 2), 1],
    [mini(2, 1, 1), 2],
    [mini(2, 2, 2, 'fault-skip-range-check'), 1],
    [mini(2, 2, 2, 'precheck-plain-read'), 1],
  ] as const) {
    const rounds = figures(exploreBranches(f, { preemptionBound: bound, por: 'dpor' }));
    for (const [inFlight, seed] of [
      [1, 1],
      [3, 2],
      [8, 3],
    ] as const) {
      assert.deepEqual(figures(flowInAnyOrder(f, { preemptionBound: bound, por: 'dpor' }, inFlight, seed)), rounds, `${inFlight} in flight`);
    }
  }
});

test('branches: a flow cut short is not exhausted, and counts every execution that ran', () => {
  const f = mini(2, 2, 2);
  const dfs: DfsOptions = { preemptionBound: 1, por: 'dpor' };
  const depth = topDepthFor(f, dfs, {});
  const flow = new BranchFlow();
  let ran = 0;
  // Two branches in flight; the run stops after five have finished, leaving gaps in the rounds.
  const running: FlowBranch[] = [];
  for (let finished = 0; finished < 5; finished++) {
    for (let b = flow.take(); b !== undefined; b = running.length < 2 ? flow.take() : undefined) running.push(b);
    const b = running.pop()!;
    const o = exploreBranch(f, dfs, b, depth, {});
    ran += o.executions;
    flow.finish(b, o);
  }
  flow.abandon();
  const r = flowResult(flow, depth, 1, true);
  assert.equal(r.summary.exhausted, false);
  assert.equal(r.summary.executions, ran);
});

test('branches: once a flow is abandoned (a time limit, SIGINT, a violation), a branch still running that finishes asks for no more: nothing is handed out and the flow is done (the workers ran branch after branch past --time-limit)', () => {
  const f = mini(2, 2, 2);
  const dfs: DfsOptions = { preemptionBound: 1, por: 'dpor' };
  const depth = topDepthFor(f, dfs, {});
  const flow = new BranchFlow();
  const first = flow.take()!;
  const o = exploreBranch(f, dfs, first, depth, {});
  assert.ok(o.requests.length > 0, 'the first branch asks for others');
  flow.abandon();
  flow.finish(first, o);
  assert.equal(flow.take(), undefined);
  assert.equal(flow.done(), true);
  assert.equal(flowResult(flow, depth, 1, true).summary.executions, o.executions);
});
