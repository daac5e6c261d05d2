/**
 * Checker figures. The checker (src/check) is being finished alongside this
 * benchmark, so it is loaded at run time and its absence or a changed API is
 * recorded as "not measured" rather than failing the whole bench.
 */
import { MUTANTS } from '../kvm/mutants.js';
import { createInstance, effectiveSettings } from '../scenario/instantiate.js';
import { loadScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/schema.js';

/** The part of src/check/index.ts the bench uses. */
interface CheckerApi {
  makeStrategy(spec: { kind: string; [k: string]: unknown }, seed: number): unknown;
  explore(
    factory: (o: { log: boolean }) => unknown,
    strategy: unknown,
    options: { maxExecutions?: number; maxSteps?: number; timeLimitMs?: number },
  ): {
    summary: { executions: number; exhausted: boolean; stoppedBy: string; wallMs: number; executionsPerSec: number; firstCounterexampleMs: number | null; maxDepth: number; redundant: number };
    violation: { kind: string; message: string } | null;
    modelBug: { message: string } | null;
  };
}

export async function loadChecker(): Promise<{ api: CheckerApi } | { error: string }> {
  const where = '../check/index.js';
  try {
    const m = (await import(where)) as Partial<CheckerApi>;
    if (typeof m.explore !== 'function' || typeof m.makeStrategy !== 'function') return { error: 'src/check/index.ts exports no explore/makeStrategy' };
    return { api: m as CheckerApi };
  } catch (e) {
    return { error: `src/check not loadable: ${(e as Error).message}` };
  }
}

/** fault-vs-invalidation-mini (or another scenario) at N×I×F. */
function sized(name: string, n?: number, i?: number, f?: number): Scenario {
  const s = structuredClone(loadScenario(name));
  if (n !== undefined) s.vm.vcpus = n;
  if (i !== undefined) for (const inv of s.host.invalidations) inv.count = i;
  if (f !== undefined) s.workload.accesses = f;
  return s;
}

function factory(scenario: Scenario, mutant: string | null) {
  const settings = effectiveSettings(scenario);
  return (o: { log: boolean }) => createInstance(scenario, { settings, mutant, log: o.log, metrics: false });
}

export async function measureChecker(budget: { throughputMs: number; dfsMs: number; mutantMs: number }) {
  const loaded = await loadChecker();
  if ('error' in loaded) return { measured: false as const, note: `not measured: ${loaded.error}` };
  const { api } = loaded;
  const summary = (r: ReturnType<CheckerApi['explore']>) => ({
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
    for (const kind of ['random', 'pct']) {
      const s = sized('fault-vs-invalidation-mini', ...size);
      const r = api.explore(factory(s, null), api.makeStrategy({ kind }, 1), { timeLimitMs: budget.throughputMs });
      throughput.push({ size: size.join('x'), strategy: kind, ...summary(r) });
    }
  }

  const dfs: Record<string, unknown>[] = [];
  for (const size of [[2, 2, 2], [3, 2, 2], [3, 3, 2], [3, 3, 3]] as const) {
    const s = sized('fault-vs-invalidation-mini', ...size);
    const r = api.explore(factory(s, null), api.makeStrategy({ kind: 'dfs' }, 1), { timeLimitMs: budget.dfsMs });
    dfs.push({ size: size.join('x'), timeLimitMs: budget.dfsMs, ...summary(r) });
  }

  const mutants: Record<string, unknown>[] = [];
  for (const m of MUTANTS) {
    let entry: Record<string, unknown> = { mutant: m.name, scenario: m.scenario, found: false };
    for (const kind of ['pct', 'dfs']) {
      let r: ReturnType<CheckerApi['explore']>;
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
  return { measured: true as const, throughput, dfs, mutants };
}
