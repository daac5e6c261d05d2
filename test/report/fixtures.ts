/**
 * Small, fast runs and a real counterexample for the report tests.
 */
import { explore } from '../../src/check/explore.js';
import { RandomStrategy } from '../../src/check/random.js';
import { ReplayStrategy } from '../../src/check/replay.js';
import type { Sink } from '../../src/kvm/events.js';
import type { CounterexampleView } from '../../src/report/cex.js';
import type { Settings } from '../../src/kvm/settings.js';
import { createInstance, effectiveSettings, type KvmInstance } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import type { Scenario } from '../../src/scenario/schema.js';
import type { RunResult } from '../../src/simulate/result.js';
import { simulate } from '../../src/simulate/simulate.js';

/** A built-in scenario cut to `timeNs` of virtual time. */
export function shortScenario(name: string, timeNs: number, livelockNs?: number): Scenario {
  const s = loadScenario(name);
  s.stop.timeNs = timeNs;
  if (livelockNs !== undefined) s.stop.livelockNs = livelockNs;
  return s;
}

/** Something that listens to a run and reads its instance. */
export interface Attachable extends Sink {
  attach(inst: KvmInstance): void;
}

/** Simulates with the given report sinks attached. */
export function runWith(
  scenario: Scenario,
  sinks: Attachable[],
  opts: { seed?: number; settings?: Partial<Settings>; mutant?: string | null } = {},
): RunResult {
  return simulate(scenario, {
    settings: effectiveSettings(scenario, opts.settings ?? {}),
    mutant: opts.mutant ?? null,
    seed: opts.seed ?? 1,
    sinks,
    onInstance: (inst) => {
      for (const s of sinks) s.attach(inst);
    },
  });
}

/**
 * A counterexample found by the checker itself: random exploration of
 * apic-reload-mini under the apic-reload-no-retry mutant (a vCPU enters the
 * guest with the freed APIC-access page), then a replay with the step log on,
 * with `sinks` attached to the replayed instance.
 */
export function realCounterexample(sinks: Attachable[] = []): CounterexampleView {
  const s = loadScenario('apic-reload-mini');
  const settings = effectiveSettings(s);
  const mutant = 'apic-reload-no-retry';
  const found = explore(() => createInstance(s, { settings, mutant, log: false, metrics: false }), new RandomStrategy(1), { maxExecutions: 5000 });
  if (found.violation === null || found.schedule === null) throw new Error('the checker found no counterexample for apic-reload-no-retry');
  let inst: KvmInstance | null = null;
  const replayed = explore(
    () => {
      inst = createInstance(s, { settings, mutant, log: true, metrics: false, sinks });
      for (const k of sinks) k.attach(inst);
      return inst;
    },
    new ReplayStrategy(found.schedule),
    {},
  );
  const i = inst as KvmInstance | null;
  if (i === null || replayed.violation === null) throw new Error('the replay did not reproduce the violation');
  const names = i.rt.threads.map((t) => t.name);
  return {
    format: 'mmulab-cex/1',
    scenario: s.name ?? 'apic-reload-mini',
    settings: settings as unknown as Record<string, unknown>,
    mutant,
    seed: 1,
    strategy: 'random',
    property: replayed.violation.kind,
    violation: replayed.violation,
    schedule: found.schedule,
    steps: (i.log ?? []).map((l) => ({ step: l.step, thread: names[l.thread] ?? String(l.thread), text: l.text, timeNs: l.timeNs })),
  };
}
