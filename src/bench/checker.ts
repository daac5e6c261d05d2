/** Checker figures: executions/s, DFS exhaustion by size, time to each mutant's first counterexample. */
import { type ExploreResult, explore, makeStrategy } from '../check/index.js';
import { MUTANTS } from '../kvm/mutants.js';
import { createInstance, effectiveSettings } from '../scenario/instantiate.js';
import { loadScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/schema.js';
import { resize } from '../scenario/size.js';

/** fault-vs-invalidation-mini (or another scenario) at N×I×F. */
function sized(name: string, vcpus?: number, invalidations?: number, faultsPerVcpu?: number): Scenario {
  return resize(loadScenario(name), { vcpus, invalidations, faultsPerVcpu });
}

function factory(scenario: Scenario, mutant: string | null) {
  const settings = effectiveSettings(scenario);
  return (o: { log: boolean }) => createInstance(scenario, { settings, mutant, log: o.log, metrics: false });
}

export async function measureChecker(budget: { throughputMs: number; dfsMs: number; mutantMs: number }) {
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

  const throughput: Record<string, unknown>[] = [];
  for (const size of [[3, 2, 2], [3, 3, 2]] as const) {
    for (const kind of ['random', 'pct'] as const) {
      const s = sized('fault-vs-invalidation-mini', ...size);
      const r = api.explore(factory(s, null), api.makeStrategy({ kind }, 1), { timeLimitMs: budget.throughputMs });
      throughput.push({ size: size.join('x'), strategy: kind, ...summary(r) });
    }
  }

  const dfs: Record<string, unknown>[] = [];
  for (const size of [[2, 2, 2], [3, 2, 2], [3, 3, 2], [3, 3, 3]] as const) {
    const s = sized('fault-vs-invalidation-mini', ...size);
    // Unbounded DPOR, then with a preemption bound of 1 (CHESS-style bounded exhaustion).
    for (const preemptionBound of [Number.POSITIVE_INFINITY, 1]) {
      const r = api.explore(factory(s, null), api.makeStrategy({ kind: 'dfs', preemptionBound }, 1), { timeLimitMs: budget.dfsMs });
      dfs.push({ size: size.join('x'), preemptionBound: Number.isFinite(preemptionBound) ? preemptionBound : 'none', timeLimitMs: budget.dfsMs, ...summary(r) });
    }
  }

  const mutants: Record<string, unknown>[] = [];
  for (const m of MUTANTS) {
    let entry: Record<string, unknown> = { mutant: m.name, scenario: m.scenario, found: false };
    for (const kind of ['pct', 'dfs'] as const) {
      let r: ExploreResult;
      try {
        r = api.explore(factory(sized(m.scenario), m.name), api.makeStrategy({ kind }, 1), { timeLimitMs: budget.mutantMs });
      } catch (e) {
        entry = { ...entry, error: (e as Error).message };
        break;
      }
      entry = { mutant: m.name, scenario: m.scenario, strategy: kind, found: r.violation !== null, violation: r.violation?.kind ?? null, timeToFirstCounterexampleMs: r.summary.firstCounterexampleMs, executions: r.summary.executions, timeLimitMs: budget.mutantMs };
      if (r.violation !== null) break;
    }
    mutants.push(entry);
  }
  return { throughput, dfs, mutants };
}
