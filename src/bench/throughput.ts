import { effectiveSettings } from '../scenario/instantiate.js';
import { loadScenario } from '../scenario/load.js';
import { simulate } from '../simulate/simulate.js';

export interface ThroughputFigures {
  scenario: string;
  vcpus: number;
  runs: number;
  steps: number;
  wallMs: number;
  stepsPerSec: number;
  /** Best single run's rate (less noise from GC and JIT warm-up). */
  bestStepsPerSec: number;
  /** Steps per second of CPU time used by this process (robust when other processes share the cores). */
  stepsPerCpuSec: number;
}

/** Simulator throughput: scheduler steps per wall second on one core. */
export function measureThroughput(opts: { scenario?: string; vcpus?: number; minMs?: number; warmupRuns?: number } = {}): ThroughputFigures {
  const name = opts.scenario ?? 'fault-during-invalidation';
  const vcpus = opts.vcpus ?? 64;
  const scenario = structuredClone(loadScenario(name));
  scenario.vm.vcpus = vcpus;
  const settings = effectiveSettings(scenario);
  const one = () => {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const r = simulate(scenario, { settings, mutant: null, seed: scenario.seed });
    const c = process.cpuUsage(c0);
    return { steps: r.steps, ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 };
  };
  for (let i = 0; i < (opts.warmupRuns ?? 1); i++) one();
  const minMs = opts.minMs ?? 5000;
  let steps = 0;
  let ms = 0;
  let runs = 0;
  let best = 0;
  let cpuMs = 0;
  while (ms < minMs || runs < 2) {
    const r = one();
    steps += r.steps;
    ms += r.ms;
    cpuMs += r.cpuMs;
    runs++;
    best = Math.max(best, r.steps / (r.ms / 1000));
  }
  return {
    scenario: name,
    vcpus,
    runs,
    steps,
    wallMs: Math.round(ms),
    stepsPerSec: Math.round(steps / (ms / 1000)),
    bestStepsPerSec: Math.round(best),
    stepsPerCpuSec: Math.round(steps / (cpuMs / 1000)),
  };
}
