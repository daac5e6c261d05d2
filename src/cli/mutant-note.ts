import type { Counterexample } from '../check/counterexample.js';
import type { Summary } from '../check/summary.js';
import { MUTANTS } from '../kvm/mutants.js';
import type { Settings } from '../kvm/settings.js';
import { actedWords } from '../report/mutant-acted.js';
import { effectiveSettings } from '../scenario/instantiate.js';
import { loadScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/schema.js';
import type { RunResult } from '../simulate/result.js';
import { applySets, setKey } from './overrides.js';
import { isSizeKey } from './variants.js';
import { type LabelledRun, type SettingsRun, warnLine, whichRuns } from './which-runs.js';

/**
 * What is known of where a mutant acts is its spec in src/kvm/mutants.ts: the
 * small built-in scenario that exposes it, and with it the settings that
 * scenario sets (root-zap-mini: mmu=shadow); for some (MutantSpec.needs), the
 * settings it needs and the feature of a world it departs in. Applied
 * elsewhere, its code may never run, and the results are the unmutated
 * protocol's with nothing to tell them apart (zap-root-no-request under TDP).
 * Returns the line that says so, or null when the runs are that scenario with
 * its settings, or, for a mutant with `needs`, have the settings it needs and
 * `world` (the scenario as run, when known) the feature (clear-dirty-log-no-flush
 * under mmu=shadow, or on a copy of dirty-log-manual-mini with
 * manual-initially-set). Where the specs say nothing finer this is a note, not
 * a refusal: a mutant may well act on other scenarios.
 */
export function mutantNote(mutant: string | null, scenario: string, runs: readonly SettingsRun[], world?: Scenario, knobs?: WorldKnobs): string | null {
  const place = mutantPlace(mutant, runs, scenario, world, knobs);
  if (place === null || (place.here === null && place.worldOk)) return null;
  return `${place.meant}; ${place.here ?? place.elsewhere}: the mutant may never act here, and then the results are the unmutated protocol's`;
}

/**
 * Where `mutant` is meant to act and how `runs` differ: `meant`, "--mutate NAME
 * is meant for SCENARIO (its settings that differ)", `here`, the runs' settings
 * that differ from that scenario's ("this run has mmioCaching=false"), or null
 * when none does. Settings are compared as in effect, defaults included, so a
 * --set that changes a default (mmioCaching=false, mmu=shadow) counts. A
 * mutant with `needs`: only the settings it needs compared, and named in
 * `meant` ("(it needs mmu=tdp)"). `worldOk`: the run's scenario is the one
 * meant (by name, `scenario`), or has the feature the mutant needs (`world`
 * given); else `elsewhere` says how it is not. Null without a (known) mutant.
 */
function mutantPlace(
  mutant: string | null,
  runs: readonly SettingsRun[],
  scenario: string,
  world?: Scenario,
  knobs?: WorldKnobs,
): { scenario: string; meant: string; here: string | null; worldOk: boolean; elsewhere: string } | null {
  const spec = MUTANTS.find((m) => m.name === mutant);
  if (mutant === null || spec === undefined) return null;
  const kv = (pairs: readonly [string, unknown][]) => pairs.map(([k, v]) => `${k}=${String(v)}`).join(' ');
  const needs = spec.needs;
  if (needs !== undefined) {
    const wanted = Object.entries(needs.settings) as [keyof Settings, unknown][];
    const off = runs.flatMap((r) => {
      const differ = wanted.filter(([k, v]) => r.settings[k] !== v);
      return differ.length === 0 ? [] : [`${r.label === null ? 'this run has' : `variant ${r.label} has`} ${kv(differ.map(([k]) => [k, r.settings[k]]))}`];
    });
    const worldOk = world !== undefined ? needs.world.has(world) : scenario === spec.scenario;
    // The scenario had the feature and the --set knobs took it away (dirtyLog=get on a ring): said, lest the line read as a contradiction.
    const madeBy = knobs !== undefined && knobs.sets.length > 0 && needs.world.has(knobs.loaded) ? ` with --set ${knobs.sets.join(' ')}` : '';
    return {
      scenario: spec.scenario,
      meant: `--mutate ${mutant} is meant for ${spec.scenario}${wanted.length > 0 ? ` (it needs ${kv(wanted)})` : ''}`,
      here: off.length > 0 ? off.join(', ') : null,
      worldOk,
      elsewhere: world !== undefined ? `this run is ${scenario}${madeBy}, without ${needs.world.what}` : `this run is ${scenario}`,
    };
  }
  let intended: Scenario | null;
  try {
    intended = loadScenario(spec.scenario);
  } catch {
    intended = null;
  }
  // The settings in effect, defaults included: a --set that changes a default the mutant needs (mmioCaching=false) differs too.
  const meantSettings = intended !== null ? effectiveSettings(intended) : null;
  const keys = Object.keys(meantSettings ?? {}) as (keyof Settings)[];
  const differing = new Set<keyof Settings>();
  const off = runs.flatMap((r) => {
    const differ = keys.filter((k) => r.settings[k] !== meantSettings![k]);
    for (const k of differ) differing.add(k);
    return differ.length === 0 ? [] : [`${r.label === null ? 'this run has' : `variant ${r.label} has`} ${kv(differ.map((k) => [k, r.settings[k]]))}`];
  });
  // What the scenario meant sets, then the defaults it keeps that a run changes.
  const explicit = Object.entries(intended?.settings ?? {}).filter(([, v]) => v !== undefined) as [keyof Settings, unknown][];
  const wanted: [string, unknown][] = [
    ...explicit,
    ...[...differing].filter((k) => !explicit.some(([e]) => e === k)).map((k) => [k, meantSettings![k]] as [string, unknown]),
  ];
  const meant = `--mutate ${mutant} is meant for ${spec.scenario}${wanted.length > 0 ? ` (${kv(wanted)})` : ''}`;
  return {
    scenario: spec.scenario,
    meant,
    here: off.length > 0 ? off.join(', ') : null,
    worldOk: scenario === spec.scenario,
    elsewhere: `this run is ${scenario}`,
  };
}

/** The scenario as loaded and the --set knobs (dirtyLog=get, vcpus=4) that changed it into the world run: for a note to say what made the world so. */
export interface WorldKnobs {
  loaded: Scenario;
  sets: readonly string[];
}

/** mutantNote's warning for the checker's commands (check, audit, replay --schedule): the scenario as loaded and its --set list. */
export function warnMutantSets(mutant: string | null, base: Scenario, sets: readonly string[]): void {
  if (mutant === null) return;
  const { scenario, settings } = applySets(base, sets);
  const knobs = { loaded: base, sets: sets.filter((item) => isSizeKey(setKey(item))) };
  warnLine(mutantNote(mutant, base.name ?? 'unnamed', [{ label: null, settings: effectiveSettings(scenario, settings) }], scenario, knobs));
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
 * A variant some of whose seeds it acted in is not named. `scenario`: the
 * scenario run; when it is the one meant for the mutant, the note says the
 * setting of a single run (`settings`, in effect) that differs from it, or
 * that these runs did not reach the place, rather than where it is meant.
 */
export function idleMutantNote(mutant: string | null, runs: readonly MutatedResults[], scenario?: string, settings?: Settings): string | null {
  if (mutant === null) return null;
  const idle = runs.filter((r) => r.results.length > 0 && r.results.every((x) => x.mutantActed === 0));
  if (idle.length === 0) return null;
  const spec = MUTANTS.find((m) => m.name === mutant);
  // On the scenario meant for it (as idleCheckNote says it): the settings of a single run that differ, else that these runs did not reach it.
  const place = spec !== undefined && scenario === spec.scenario && settings !== undefined ? mutantPlace(mutant, [{ label: null, settings }], scenario) : null;
  const meant =
    spec === undefined
      ? ''
      : scenario !== spec.scenario
        ? ` (it is meant for ${spec.scenario})`
        : place?.here != null
          ? ` (${place.meant.replace(/^--mutate \S+ is /, 'it is ')}; ${place.here}: a setting may keep it from acting)`
          : ` in the runs made (${spec.scenario}, the scenario meant for it: other seeds or longer runs may reach it)`;
  return `--mutate ${mutant} never acted in ${whichRuns(idle, runs)}: nothing reached the place where it departs from the kernel${meant}, so the results are the unmutated protocol's`;
}

/**
 * After a check that found no violation: the line when its mutant acted in
 * none of its executions (Summary.mutantActedExecutions 0), whose verdict is
 * then the unmutated protocol's; with the settings of the check that differ
 * from those of the scenario meant for the mutant, the likely reason
 * (`settings` null: not known, as in a merge of parts; `world`, the scenario
 * checked, for a mutant that names the feature it needs). Null
 * when it acted, no execution ran, or there is no mutant.
 */
export function idleCheckNote(
  mutant: string | null,
  summary: Pick<Summary, 'executions' | 'mutantActedExecutions'>,
  scenario: string,
  settings: Settings | null,
  world?: Scenario,
): string | null {
  if (mutant === null || summary.executions === 0 || summary.mutantActedExecutions !== 0) return null;
  const place = mutantPlace(mutant, settings === null ? [] : [{ label: null, settings }], scenario, world);
  const hint =
    place === null
      ? ''
      : place.here !== null
        ? ` (${place.meant.replace(/^--mutate \S+ is /, 'it is ')}; ${place.here.replace(/^this run has/, 'this check has')}: a setting may keep it from acting)`
        : !place.worldOk
          ? ` (it is meant for ${place.scenario})`
          : settings !== null
            ? ' in the interleavings run (more of them may reach it)'
            : '';
  const n = summary.executions;
  return `--mutate ${mutant} never acted in this check (${n === 1 ? 'its one execution' : `any of its ${n} executions`}): nothing reached the place where it departs from the kernel${hint}, so the verdict is the unmutated protocol's`;
}

/**
 * A counterexample found with a mutant: whether the mutant acted in its
 * execution (Counterexample.mutantActed). `replay`: the command that replays
 * the counterexample's file (or null). Returns the warning when it did not
 * (the violation is then the kernel protocol's own), else the line that says
 * how many times it did; null without a mutant or a count.
 */
export function cexMutantNote(cex: Pick<Counterexample, 'mutant' | 'mutantActed'>, replay: string | null): { warning: string } | { line: string } | null {
  if (cex.mutant === null || cex.mutantActed === undefined) return null;
  if (cex.mutantActed > 0) return { line: `mutant ${cex.mutant} ${actedWords(cex.mutantActed)} in this execution` };
  const without = replay !== null ? ` (replayed without the mutant: ${replay} --without-mutant)` : '';
  return {
    warning: `--mutate ${cex.mutant} never acted in the counterexample's execution: the violation is the kernel protocol's own, not the mutant's${without}`,
  };
}

/** Writes idleMutantNote's line as a warning on stderr, when there is one. */
export function warnIdleMutant(mutant: string | null, runs: readonly MutatedResults[], scenario: string, settings?: Settings): void {
  warnLine(idleMutantNote(mutant, runs, scenario, settings));
}
