/** Checker figures: executions/s, DFS exhaustion by size, time to each mutant's first counterexample, and the speed-up of worker threads. */
import { type ExploreResult, explore, makeStrategy, type RetryRule, type StrategySpec } from '../check/index.js';
import { profileRaces } from '../check/race-profile.js';
import { checkInWorkers } from '../cli/check-workers.js';
import { closeIdleWorkers } from '../cli/offload.js';
import { MUTANTS } from '../kvm/mutants.js';
import { medianBy } from './median.js';
import { factory, sized } from './mini.js';

/**
 * The median of the speedups of runs taken in pairs (1 worker, then 2, one
 * after the other): the machine's speed drifts over minutes (one worker has
 * been seen at 31k, 30k and 20k executions/s in one bench), and a pair sees
 * the same machine, where the ratio of two medians taken minutes apart need not.
 */
function pairedSpeedup(ratios: readonly number[]): number {
  return Number(medianBy(ratios, (r) => r).toFixed(2));
}

/** Runs `f` n times. */
function repeat<T>(n: number, f: () => T): T[] {
  return Array.from({ length: n }, f);
}

export async function measureChecker(budget: { throughputMs: number; dfsMs: number; mutantMs: number; repeats: number }) {
  const api = { explore, makeStrategy };
  const summary = (r: ExploreResult) => ({
    executions: r.summary.executions,
    exhausted: r.summary.exhausted,
    stoppedBy: r.summary.stoppedBy,
    wallMs: Math.round(r.summary.wallMs),
    executionsPerSec: Math.round(r.summary.executionsPerSec),
    maxDepth: r.summary.maxDepth,
    redundant: r.summary.redundant,
    violation: r.violation?.kind ?? null,
    modelBug: r.modelBug?.message ?? null,
  });

  // Each throughput figure is the median of `repeats` runs: on a shared machine
  // one run can come out 40% slow (runs of one build have been seen at 14k and 23k/s).
  const throughput: Record<string, unknown>[] = [];
  // Retries deferred (the default); at 3x3x2 also interleaved, the rule before it.
  for (const [size, retries] of [
    [[3, 2, 2], 'deferred'],
    [[3, 3, 2], 'deferred'],
    [[3, 3, 2], 'interleaved'],
  ] as const) {
    for (const kind of ['random', 'pct'] as const) {
      const s = sized('fault-vs-invalidation-mini', ...size);
      const runs = repeat(budget.repeats, () =>
        summary(api.explore(factory(s, null), api.makeStrategy({ kind }, 1), { timeLimitMs: budget.throughputMs, retries })),
      );
      const mid = medianBy(runs, (r) => r.executionsPerSec);
      throughput.push({ size: size.join('x'), strategy: kind, retries, ...mid, runsExecutionsPerSec: runs.map((r) => r.executionsPerSec) });
    }
  }

  const dfs: Record<string, unknown>[] = [];
  for (const size of [
    [2, 2, 2],
    [3, 2, 2],
    [3, 3, 2],
    [3, 3, 3],
  ] as const) {
    const s = sized('fault-vs-invalidation-mini', ...size);
    // Unbounded DPOR, then with a preemption bound of 1 and of 2 (CHESS-style
    // bounded exhaustion), which get the 45 s the target allows: DPOR, and the
    // explored-states DFS (--por states) that covers every trace within the
    // bound. Retries deferred (the default); at 3x3x2 also interleaved, the
    // rule before it, with bound 1.
    const rows: [number, 'dpor' | 'states', RetryRule][] = [
      [Number.POSITIVE_INFINITY, 'dpor', 'deferred'],
      [1, 'dpor', 'deferred'],
      [1, 'states', 'deferred'],
      [2, 'states', 'deferred'],
    ];
    if (size.join('x') === '3x3x2') rows.push([1, 'dpor', 'interleaved'], [1, 'states', 'interleaved']);
    for (const [preemptionBound, por, retries] of rows) {
      const timeLimitMs = Number.isFinite(preemptionBound) ? Math.max(budget.dfsMs, 45_000) : budget.dfsMs;
      const r = api.explore(factory(s, null), api.makeStrategy({ kind: 'dfs', preemptionBound, por }, 1), { timeLimitMs, retries });
      dfs.push({
        size: size.join('x'),
        preemptionBound: Number.isFinite(preemptionBound) ? preemptionBound : 'none',
        por,
        retries,
        timeLimitMs,
        ...summary(r),
      });
    }
  }

  // Why unbounded dfs does not finish: the kinds of race it reverses, over the
  // first 20,000 executions (a fixed count, so the figures are the same on any
  // machine); and, exhausting 3x3x2 with preemption bound 1, how many distinct
  // traces its executions are (a bound turns sleep sets off).
  const races: Record<string, unknown>[] = [];
  for (const [size, preemptionBound] of [
    [[2, 1, 1], undefined],
    [[3, 3, 2], undefined],
    [[3, 3, 2], 1],
  ] as const) {
    const p = profileRaces(factory(sized('fault-vs-invalidation-mini', ...size), null), {
      maxExecutions: preemptionBound === undefined ? 20_000 : undefined,
      preemptionBound,
    });
    const between = (who: RegExp) => p.classes.filter((c) => who.test(c.first) && who.test(c.second)).reduce((a, c) => a + c.share, 0);
    races.push({
      size: size.join('x'),
      preemptionBound: p.preemptionBound,
      exhausted: p.exhausted,
      executions: p.executions,
      distinctTraces: p.distinctTraces,
      backtracks: p.backtracks,
      shareVcpuVcpu: Number(between(/^vCPU#/).toFixed(3)),
      shareVcpuVcpuSpte: Number(between(/^vCPU#.*spte/).toFixed(3)),
      top: p.classes.slice(0, 5).map((c) => ({ first: c.first, second: c.second, share: Number(c.share.toFixed(3)) })),
    });
  }

  const mutants: Record<string, unknown>[] = [];
  for (const m of MUTANTS) {
    let entry: Record<string, unknown> = { mutant: m.name, scenario: m.scenario, found: false };
    // As a bare `mmulab check --mutate` runs: auto (PCT, then bound 0, 1, 2), then unbounded DPOR.
    for (const spec of [{ kind: 'auto', preemptionBound: 2 }, { kind: 'dfs' }] as const) {
      const kind = spec.kind;
      let r: ExploreResult;
      try {
        r = api.explore(factory(sized(m.scenario), m.name), api.makeStrategy(spec, 1), { timeLimitMs: budget.mutantMs });
      } catch (e) {
        entry = { ...entry, error: (e as Error).message };
        break;
      }
      entry = {
        mutant: m.name,
        scenario: m.scenario,
        strategy: kind,
        found: r.violation !== null,
        violation: r.violation?.kind ?? null,
        timeToFirstCounterexampleMs: r.summary.firstCounterexampleMs,
        executions: r.summary.executions,
        timeLimitMs: budget.mutantMs,
      };
      if (r.violation !== null) break;
    }
    mutants.push(entry);
  }
  return { throughput, dfs, races, mutants };
}

/**
 * Executions per second with 1 and 2 worker threads (check --workers), random
 * and pct on fault-vs-invalidation-mini 3x3x2 for `throughputMs` each, and the
 * time dfs takes to exhaust: DPOR with preemption bound 2 at 3x2x1 and 3x3x2
 * with 1 worker and with 2 (the branches of the top of the tree, one after
 * another on one, shared out on two: branch-rounds.ts); explored states (the default with a
 * bound) with preemption bound 2 at 3x3x2 and, once, bound 3 at 3x1x2 (2
 * workers take the subtrees of a split and share one table of states); the
 * iterative bound up to 3 at 3x1x2. Both worker counts run on fresh worker
 * threads, as the CLI runs them, alternating; every figure is the median of
 * `repeats` runs (`throughputRepeats` for random and pct), and each speedup
 * the median of the pairs' (see pairedSpeedup).
 */
export async function measureCheckerWorkers(budget: { throughputMs: number; throughputRepeats: number; dfsMs: number; repeats: number }) {
  const run = async (size: string[], strategy: StrategySpec, workers: number, timeLimitMs: number) => {
    // Every run starts on fresh threads, as `mmulab check --workers K` does:
    // branch workers always are, and a kept worker would give one worker
    // compiled, optimised code that the other count has to warm up.
    await closeIdleWorkers();
    const t0 = Date.now();
    const { result } = await checkInWorkers(
      {
        kind: 'check',
        ref: 'fault-vs-invalidation-mini',
        sets: size,
        mutant: null,
        options: { strategy, seed: 1, origin: { scenario: 'fault-vs-invalidation-mini', settings: {}, mutant: null }, timeLimitMs },
      },
      null,
      workers,
      () => false,
    );
    const s = result.summary;
    // wallMs: the exploration's (as the CLI prints it); elapsedMs: the call's, workers' starts included.
    return {
      workers,
      executions: s.executions,
      exhausted: s.exhausted,
      stoppedBy: s.stoppedBy,
      wallMs: Math.round(s.wallMs),
      elapsedMs: Date.now() - t0,
      executionsPerSec: Math.round(s.executionsPerSec),
    };
  };
  const size332 = ['vcpus=3', 'invalidations=3', 'faultsPerVcpu=2'];
  const throughput: Record<string, unknown>[] = [];
  for (const kind of ['random', 'pct'] as const) {
    // 1 and 2 workers alternate, `throughputRepeats` times; each figure is the median run.
    const ones: Awaited<ReturnType<typeof run>>[] = [];
    const twos: Awaited<ReturnType<typeof run>>[] = [];
    for (let i = 0; i < budget.throughputRepeats; i++) {
      ones.push(await run(size332, { kind }, 1, budget.throughputMs));
      twos.push(await run(size332, { kind }, 2, budget.throughputMs));
    }
    const one = medianBy(ones, (r) => r.executionsPerSec);
    const two = medianBy(twos, (r) => r.executionsPerSec);
    throughput.push({
      size: '3x3x2',
      strategy: kind,
      one,
      two,
      speedup: pairedSpeedup(ones.map((r, i) => twos[i]!.executionsPerSec / Math.max(r.executionsPerSec, 1))),
      runsExecutionsPerSec: { one: ones.map((r) => r.executionsPerSec), two: twos.map((r) => r.executionsPerSec) },
    });
  }
  /** dfs at N×I×F exhausted by 1 worker and by 2, alternating; the median run of each by wall time. */
  const speedupAt = async (size: string[], dfsSpec: StrategySpec & { kind: 'dfs' }, repeats = budget.repeats, timeLimitMs = budget.dfsMs) => {
    const ones: Awaited<ReturnType<typeof run>>[] = [];
    const twos: Awaited<ReturnType<typeof run>>[] = [];
    for (let i = 0; i < repeats; i++) {
      ones.push(await run(size, dfsSpec, 1, timeLimitMs));
      twos.push(await run(size, dfsSpec, 2, timeLimitMs));
    }
    const one = { ...medianBy(ones, (r) => r.wallMs), runsWallMs: ones.map((r) => r.wallMs) };
    const two = { ...medianBy(twos, (r) => r.wallMs), runsWallMs: twos.map((r) => r.wallMs) };
    const speedup = pairedSpeedup(ones.map((r, i) => r.wallMs / Math.max(twos[i]!.wallMs, 1)));
    return { size: size.map((s) => s.split('=')[1]).join('x'), preemptionBound: dfsSpec.preemptionBound, por: dfsSpec.por, one, two, speedup };
  };
  // Sizes and bounds chosen for searches of seconds on one worker with
  // retries deferred (DPOR 5 and 11 s, states 7 and 30 s, the iterative bound
  // about 31 s): each worker's warm-up weighs on shorter ones.
  const dpor: StrategySpec & { kind: 'dfs' } = { kind: 'dfs', preemptionBound: 2, por: 'dpor' };
  const size321 = ['vcpus=3', 'invalidations=2', 'faultsPerVcpu=1'];
  const dfs = await speedupAt(size321, dpor);
  const large = await speedupAt(size332, dpor);
  // The default with a bound: explored states, the workers taking the subtrees
  // of a split and sharing one table of states. The large search runs once each.
  const states = await speedupAt(size332, { kind: 'dfs', preemptionBound: 2, por: 'states' });
  const statesLarge = await speedupAt(
    ['vcpus=3', 'invalidations=1', 'faultsPerVcpu=2'],
    { kind: 'dfs', preemptionBound: 3, por: 'states' },
    1,
    4 * budget.dfsMs,
  );
  // The iterative bound up to 3, each level on the workers (check-phases.ts): `repeats` pairs.
  const iterativeSpec: StrategySpec & { kind: 'dfs' } = { kind: 'dfs', iterative: true, preemptionBound: 3 };
  const iterative = await speedupAt(['vcpus=3', 'invalidations=1', 'faultsPerVcpu=2'], iterativeSpec, budget.repeats, 4 * budget.dfsMs);
  // What the cores allow: the DPOR check of `dfs` (3x2x1) on one worker alone, then
  // two of them at once (each on a worker of its own, nothing shared), in
  // `repeats` pairs. Two workers of one search can at best do what two
  // independent searches do: 2 * alone / sideBySide is the speedup they cap at.
  const alone: number[] = [];
  const sideBySide: number[] = [];
  for (let i = 0; i < budget.repeats; i++) {
    alone.push((await run(size321, dpor, 1, budget.dfsMs)).wallMs);
    const both = await Promise.all([0, 1].map(() => run(size321, dpor, 1, budget.dfsMs)));
    sideBySide.push(Math.max(...both.map((r) => r.wallMs)));
  }
  const ceiling = pairedSpeedup(alone.map((a, i) => (2 * a) / Math.max(sideBySide[i]!, 1)));
  const cores = { size: '3x2x1', preemptionBound: 2, por: 'dpor', aloneWallMs: alone, sideBySideWallMs: sideBySide, ceiling };
  return { throughput, dfs, dfsLarge: large, dfsStates: states, dfsStatesLarge: statesLarge, dfsIterative: { ...iterative, iterative: true }, cores };
}
