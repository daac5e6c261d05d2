import { MAX_THREADS } from '../check/execution.js';
import type { InstanceFactory } from '../check/factory.js';
import type { Sink } from '../kvm/events.js';
import { InputError, inScenario } from '../scenario/input-error.js';
import { createInstance, effectiveSettings } from '../scenario/instantiate.js';
import { endlessThreads } from '../scenario/limits.js';
import { loadScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/schema.js';
import { pageTablesTakenAway } from '../scenario/shadow-guest.js';
import { applySets } from './overrides.js';

/**
 * A scenario, as set, that the checker cannot run (a thread with no count, too
 * many threads, page tables a memslot change takes away). The message says it
 * in command-line terms (--set ...); a counterexample file, which takes no
 * --set, says what its own fields would need to be instead (cex-input.ts).
 */
export class UncheckableScenario extends InputError {
  constructor(
    /** The scenario as named on the command line or in the file. */
    readonly ref: string,
    /** What the checker cannot run, naming neither the scenario nor a remedy. */
    readonly problem: string,
    /** What would do, in command-line terms. */
    readonly expected: string,
    /** What would do in a counterexample's fields: its settings when they made it so, its scenario when it is so without them. */
    readonly expectedIn: Record<'settings' | 'scenario', string>,
  ) {
    super(`${ref}: ${problem}; expected ${expected}`);
  }
}

/**
 * Builds the model factory for a scenario reference and its --set list (as
 * counterexamples record them). The checker runs every thread to its end (a
 * scenario's stop condition is the simulator's): a thread with no count would
 * cut every execution at maxSteps, each one a false livelock, so such a
 * scenario is refused as bad input.
 */
export function factoryFor(ref: string, sets: readonly string[], mutant: string | null, sinks?: () => Sink[]): InstanceFactory {
  return factoryForScenario(loadScenario(ref), ref, sets, mutant, sinks);
}

/** factoryFor with the scenario already read (a counterexample's own copy); `ref` names it in errors. */
export function factoryForScenario(base: Scenario, ref: string, sets: readonly string[], mutant: string | null, sinks?: () => Sink[]): InstanceFactory {
  return prepared(base, ref, sets, mutant, sinks).factory;
}

/**
 * factoryFor, refusing first what the checker cannot run: the CLI's entry
 * points call it once, before any worker starts (which then use factoryFor).
 * One instance is built: the model's own refusals (a layout it cannot have)
 * come before the checker's, whose thread sets are 32-bit masks; and under
 * shadow paging, no memslot change may take away page tables a vCPU may still
 * walk (pageTablesTakenAway).
 */
export function checkedFactoryFor(ref: string, sets: readonly string[], mutant: string | null, base = loadScenario(ref)): InstanceFactory {
  try {
    return checkedFactory(ref, sets, mutant, base);
  } catch (e) {
    throw inScenario(ref, e);
  }
}

function checkedFactory(ref: string, sets: readonly string[], mutant: string | null, base: Scenario): InstanceFactory {
  const { factory, scenario, mmu } = prepared(base, ref, sets, mutant);
  const probe = factory({ log: false });
  const threads = probe.rt.threads.length;
  probe.dispose?.();
  if (threads > MAX_THREADS) {
    const vcpus = scenario.vm.vcpus;
    const host = threads - vcpus;
    const most = Math.max(1, MAX_THREADS - host);
    throw new UncheckableScenario(
      ref,
      `${threads} threads (${vcpus} vCPUs and ${host} host thread${host === 1 ? '' : 's'}): the checker handles at most ${MAX_THREADS}`,
      `--set vcpus=${most} or fewer`,
      { settings: `settings with vcpus=${most} or fewer`, scenario: `a scenario of at most ${MAX_THREADS} threads, or settings with vcpus=${most} or fewer` },
    );
  }
  const taken = mmu === 'shadow' ? pageTablesTakenAway(scenario) : [];
  if (taken.length > 0) {
    const where = 'page tables in a memslot no change takes away (pageTableGfnStart)';
    throw new UncheckableScenario(
      ref,
      `${taken.join('; ')}, which may still walk them: the checker ignores time (atNs), and the model does not cover a guest running on page tables in no memslot`,
      `${where}, or --set mmu=tdp`,
      { settings: 'settings with mmu=tdp, or none that take page tables away', scenario: `a scenario with ${where}, or settings with mmu=tdp` },
    );
  }
  return factory;
}

/** The first field of `scenario` that starts a workload phase by time (fromNs), or null. */
function phasesByTime(scenario: Scenario): string | null {
  const lists: [string, Scenario['workload']['phases']][] = [
    ['workload', scenario.workload.phases],
    ...scenario.vcpuWorkloads.map((w, i): [string, Scenario['workload']['phases']] => [`vcpuWorkloads[${i}]`, w.phases]),
  ];
  for (const [where, phases] of lists) if (phases?.[0]?.fromNs !== undefined) return `${where}.phases[0].fromNs`;
  return null;
}

/** The scenario resized and set as `sets` asks, its MMU, and its factory; endless threads refused. */
function prepared(base: Scenario, ref: string, sets: readonly string[], mutant: string | null, sinks?: () => Sink[]) {
  const { scenario, settings } = applySets(base, sets);
  const endless = endlessThreads(scenario);
  if (endless.threads.length > 0) {
    throw new UncheckableScenario(
      ref,
      `${endless.threads.join(', ')}: the checker runs every thread to its end (stop is the simulator's)`,
      `${endless.remedies.join(', ')}, or a *-mini check scenario`,
      {
        settings: 'settings that leave every thread a count (faultsPerVcpu and invalidations at least 1)',
        scenario: 'a scenario whose threads all have counts (a *-mini check scenario), or settings giving them counts (faultsPerVcpu, invalidations)',
      },
    );
  }
  const timed = phasesByTime(scenario);
  if (timed !== null) {
    throw new UncheckableScenario(
      ref,
      `${timed}: the checker ignores time (each thread keeps a clock of its own, and the search, not the clocks, orders the steps), so a phase from a time says nothing of what the other threads have done by then`,
      "phases that start by fromAccess (the vCPU's access count), which every order of steps reaches alike",
      { settings: 'no settings make it checkable', scenario: 'a scenario whose phases start by fromAccess' },
    );
  }
  const eff = effectiveSettings(scenario, settings);
  // With a mutant, the instance shows the checker its Mutation (Instance.mutation, set by createInstance).
  const factory: InstanceFactory = (o) =>
    createInstance(scenario, { settings: eff, mutant, log: o.log, progress: o.progress, metrics: false, sinks: sinks?.() });
  return { factory, scenario, mmu: eff.mmu };
}
