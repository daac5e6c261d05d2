import { MUTANTS } from '../kvm/mutants.js';
import type { Settings } from '../kvm/settings.js';
import { effectiveSettings } from '../scenario/instantiate.js';
import { loadScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/schema.js';
import type { RunResult } from '../simulate/result.js';
import { applySets } from './overrides.js';
import { type LabelledRun, type SettingsRun, warnLine, whichRuns } from './which-runs.js';

/**
 * What is known of where a mutant acts is its spec in src/kvm/mutants.ts: the
 * small built-in scenario that exposes it, and with it the settings that
 * scenario sets (root-zap-mini: mmu=shadow). Applied elsewhere, its code may
 * never run, and the results are the unmutated protocol's with nothing to
 * tell them apart (zap-root-no-request under TDP). Returns the line that says
 * so, or null when the runs are that scenario with its settings. The specs say
 * nothing finer (which setting a mutant needs), so this is a note, not a
 * refusal: a mutant may well act on other scenarios.
 */
export function mutantNote(mutant: string | null, scenario: string, runs: readonly SettingsRun[]): string | null {
  const spec = MUTANTS.find((m) => m.name === mutant);
  if (mutant === null || spec === undefined) return null;
  let intended: Scenario | null;
  try {
    intended = loadScenario(spec.scenario);
  } catch {
    intended = null;
  }
  const wanted = Object.entries(intended?.settings ?? {}).filter(([, v]) => v !== undefined) as [keyof Settings, string | boolean | number][];
  const kv = (pairs: readonly [string, unknown][]) => pairs.map(([k, v]) => `${k}=${String(v)}`).join(' ');
  const off = runs.flatMap((r) => {
    const differ = wanted.filter(([k, v]) => r.settings[k] !== v).map(([k]) => [k, r.settings[k]] as [string, unknown]);
    return differ.length === 0 ? [] : [`${r.label === null ? 'this run has' : `variant ${r.label} has`} ${kv(differ)}`];
  });
  if (scenario === spec.scenario && off.length === 0) return null;
  const meant = `--mutate ${mutant} is meant for ${spec.scenario}${wanted.length > 0 ? ` (${kv(wanted)})` : ''}`;
  const here = off.length > 0 ? off.join(', ') : `this run is ${scenario}`;
  return `${meant}; ${here}: the mutant may never act here, and then the results are the unmutated protocol's`;
}

/** mutantNote's warning for the checker's commands (check, audit, replay --schedule): the scenario as loaded and its --set list. */
export function warnMutantSets(mutant: string | null, base: Scenario, sets: readonly string[]): void {
  if (mutant === null) return;
  const { scenario, settings } = applySets(base, sets);
  warnLine(mutantNote(mutant, base.name ?? 'unnamed', [{ label: null, settings: effectiveSettings(scenario, settings) }]));
}

/** Simulated runs with a mutant, by variant: its label (null for a single run) and the results of its seeds. */
export interface MutatedResults extends LabelledRun {
  results: readonly Pick<RunResult, 'mutantActed'>[];
}

/**
 * After simulated runs (run, compare, sweep), what is known for sure rather
 * than guessed from the settings (mutantNote): the runs in which the mutant
 * never acted (RunResult.mutantActed is 0), whose results are the kernel
 * protocol's. Null when it acted in every variant, or there is no mutant.
 * A variant some of whose seeds it acted in is not named.
 */
export function idleMutantNote(mutant: string | null, runs: readonly MutatedResults[]): string | null {
  if (mutant === null) return null;
  const idle = runs.filter((r) => r.results.length > 0 && r.results.every((x) => x.mutantActed === 0));
  if (idle.length === 0) return null;
  const spec = MUTANTS.find((m) => m.name === mutant);
  const meant = spec !== undefined ? ` (it is meant for ${spec.scenario})` : '';
  return `--mutate ${mutant} never acted in ${whichRuns(idle, runs)}: nothing reached the place where it departs from the kernel${meant}, so the results are the unmutated protocol's`;
}

/** Writes idleMutantNote's line as a warning on stderr, when there is one. */
export function warnIdleMutant(mutant: string | null, runs: readonly MutatedResults[]): void {
  warnLine(idleMutantNote(mutant, runs));
}
