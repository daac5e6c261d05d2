/**
 * Small, fast runs and a real counterexample for the report tests.
 */
import { type Counterexample, check, formatInterleaving, ReplayStrategy, runOnce } from '../../src/check/index.js';
import type { EventStamp, KvmEvent, Sink } from '../../src/kvm/events.js';
import type { Settings } from '../../src/kvm/settings.js';
import { splitLockNotes } from '../../src/oracle/lock-notes.js';
import { StepLog } from '../../src/oracle/step-log.js';
import type { LogLine } from '../../src/runtime/instance.js';
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

/** Keeps the events of one run, to pick by kind. */
export class Events implements Attachable {
  readonly seen: KvmEvent[] = [];
  attach(): void {}
  on(ev: KvmEvent, _at: EventStamp): void {
    this.seen.push({ ...ev });
  }
  of<K extends KvmEvent['e']>(e: K): (KvmEvent & { e: K })[] {
    return this.seen.filter((x): x is KvmEvent & { e: K } => x.e === e);
  }
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
 * A counterexample found by the checker itself (random walks on
 * apic-reload-mini under the apic-reload-no-retry mutant: a vCPU enters the
 * guest with the freed APIC-access page), minimised, then replayed once more
 * with `sinks` attached, as `mmulab replay --trace` does.
 */
export function realCounterexample(sinks: Attachable[] = []): Counterexample {
  return counterexampleOf('apic-reload-mini', 'apic-reload-no-retry', sinks);
}

/**
 * The counterexamples found for a built-in scenario (by name), mutant and strategy in this test file's
 * process: the search is deterministic (seed 1), and several tests of a file look at the same one.
 */
const found = new Map<string, Counterexample>();

/**
 * A counterexample the checker finds by random walks (or PCT: `strategy`) on `scenario` (a built-in name, or loaded) under
 * `mutant` (seed 1), replayed once more with `sinks` attached, as
 * `mmulab check|replay --trace --ftrace` do. The search runs once per built-in, mutant and strategy (`found`);
 * the replay, each time.
 */
export function counterexampleOf(scenario: string | Scenario, mutant: string, sinks: Attachable[] = [], strategy: 'random' | 'pct' = 'random'): Counterexample {
  const s = typeof scenario === 'string' ? loadScenario(scenario) : scenario;
  const name = typeof scenario === 'string' ? scenario : (scenario.name ?? 'scenario');
  const settings = effectiveSettings(s);
  const factory = (o: { log: boolean }) => createInstance(s, { settings, mutant, log: o.log, metrics: false });
  const key = typeof scenario === 'string' ? `${scenario}\n${mutant}\n${strategy}` : null;
  let cex = key === null ? undefined : found.get(key);
  if (cex === undefined) {
    const c = check(factory, {
      strategy: { kind: strategy },
      seed: 1,
      maxExecutions: 5000,
      origin: { scenario: s.name ?? name, settings: {}, mutant },
    }).counterexample;
    if (c === null) throw new Error(`the checker found no counterexample for ${mutant}`);
    cex = c;
    if (key !== null) found.set(key, cex);
  }
  const replay = runOnce(
    (o) => {
      const inst = createInstance(s, { settings, mutant, log: o.log, metrics: false, sinks });
      for (const k of sinks) k.attach(inst);
      return inst;
    },
    new ReplayStrategy(cex.schedule),
    cex.limits,
    true,
  );
  if (replay.violation?.kind !== cex.property) throw new Error('the replay did not reproduce the violation');
  return cex;
}

/**
 * The interleaving of `cex` as `mmulab check` and `mmulab replay` print it, as
 * [number, thread, text] per line; the text is the event's, without the
 * mmu_lock operations the line may carry (splitLockNotes).
 */
export function printedSteps(cex: Counterexample): [number, string, string][] {
  return formatInterleaving(cex)
    .split('\n')
    .filter((l) => !l.startsWith('=>'))
    .map((l) => {
      const m = /^ *(\d+)\. ([^:]+): (.*)$/.exec(l);
      if (m === null) throw new Error(`not a printed step: ${l}`);
      return [Number(m[1]), m[2]!, splitLockNotes(m[3]!).event];
    });
}

/**
 * `cex` (of a built-in scenario) replayed once more with a step log that
 * watches mmu_lock (a StepLog given the model), after `sinks` were attached:
 * its lines, and the instance.
 */
export function notedReplay(cex: Counterexample, sinks: Attachable[] = []): { lines: LogLine[]; inst: KvmInstance } {
  const s = loadScenario(cex.scenario);
  const settings = effectiveSettings(s);
  let log: StepLog | null = null;
  let inst: KvmInstance | null = null;
  const r = runOnce(
    () => {
      inst = createInstance(s, { settings, mutant: cex.mutant, log: false, metrics: false, sinks });
      for (const k of sinks) k.attach(inst);
      log = new StepLog(inst.violations, inst.kvm);
      inst.kvm.subscribe(log);
      return inst;
    },
    new ReplayStrategy(cex.schedule),
    cex.limits,
    false,
  );
  if (r.violation?.kind !== cex.property) throw new Error('the replay did not reproduce the violation');
  return { lines: (log as StepLog | null)!.lines, inst: inst! };
}
