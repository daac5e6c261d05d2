import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { CEX_FORMAT, type Counterexample, type InstanceFactory, parseCounterexample } from '../check/index.js';
import type { Sink } from '../kvm/events.js';
import { MUTANTS } from '../kvm/mutants.js';
import { cannotRead } from '../scenario/errno-words.js';
import { InputError } from '../scenario/input-error.js';
import { parseJsonText } from '../scenario/json-input.js';
import { loadScenario, scenarioFromText } from '../scenario/load.js';
import type { Scenario } from '../scenario/schema.js';
import { checkedFactoryFor, factoryForScenario, UncheckableScenario } from './check-factory.js';
import { applySets } from './overrides.js';
import { shellWord } from './shell-word.js';

/** The --set list a counterexample's settings stand for (size knobs included). */
export function setsOf(cex: Counterexample): string[] {
  return Object.entries(cex.settings).map(([k, v]) => `${k}=${String(v)}`);
}

/** A counterexample read for replay, with the scenario it runs. */
export interface CexInput {
  cex: Counterexample;
  /** Its own copy of the scenario file when it has one (scenarioText), else the built-in or the file it names. */
  scenario: Scenario;
  /** Its model, with report sinks when asked for. */
  factory(sinks?: () => Sink[]): InstanceFactory;
  /** `withoutMutant`: the file's mutant, left out of `cex` and the model (null when it had none); else null. */
  leftOut: string | null;
}

/**
 * Reads a counterexample file for replay, and refuses, naming the file and the
 * field, one whose world this mmulab cannot build: a scenario it does not
 * know or cannot parse, a setting it does not have, a mutant it does not have
 * (replayed without it, the schedule would only diverge further on), a
 * scenario or settings the checker cannot run (said in the file's terms: replay
 * takes no --set). Text that is not JSON is refused at its line and column.
 * `withoutMutant`: the world without the file's mutant.
 */
export function readCounterexample(file: string, withoutMutant = false): CexInput {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw cannotRead(file, 'counterexample', e);
  }
  let cex: Counterexample;
  try {
    cex = parseCounterexample(parseJsonText(file, text));
  } catch (e) {
    if (e instanceof TypeError) throw new InputError(`${file}: ${e.message}`);
    throw e;
  }
  // replay --without-mutant: the same world on the kernel's protocol ("does the fix hold?").
  const leftOut = withoutMutant ? cex.mutant : null;
  if (withoutMutant) cex = { ...cex, mutant: null };
  let scenario: Scenario;
  if (cex.scenarioText !== undefined) scenario = scenarioFromText(cex.scenarioText, cex.scenario, `${file}: scenarioText`);
  else {
    try {
      scenario = loadScenario(cex.scenario);
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`${file}: scenario: ${e.message}`);
      throw e;
    }
  }
  applySets(scenario, setsOf(cex), `${file}: settings`);
  if (cex.mutant !== null && !MUTANTS.some((m) => m.name === cex.mutant)) {
    throw new InputError(`${file}: mutant: unknown mutant '${cex.mutant}'; expected null or one of ${MUTANTS.map((m) => m.name).join(', ')}`);
  }
  try {
    checkedFactoryFor(cex.scenario, setsOf(cex), cex.mutant, scenario);
  } catch (e) {
    throw uncheckable(file, cex, scenario, e);
  }
  return { cex, scenario, leftOut, factory: (sinks) => factoryForScenario(scenario, cex.scenario, setsOf(cex), cex.mutant, sinks) };
}

/**
 * A refusal of the counterexample's world, at the file's field: its settings
 * when the scenario alone would do, else its scenario. The checker's own
 * message names the scenario and advises --set, which replay does not take
 * for a file ('fault-vs-invalidation-mini: 2 vCPUs with workload.accesses 0
 * …; expected counts (--set faultsPerVcpu=F, …)' for settings faultsPerVcpu: 0).
 */
function uncheckable(file: string, cex: Counterexample, scenario: Scenario, e: unknown): unknown {
  if (!(e instanceof InputError)) return e;
  if (!(e instanceof UncheckableScenario)) return new InputError(`${file}: ${e.message}`);
  // The scenario without the settings: does it do on its own?
  let alone = true;
  try {
    checkedFactoryFor(cex.scenario, [], cex.mutant, scenario);
  } catch (other) {
    alone = !(other instanceof UncheckableScenario);
  }
  const sets = setsOf(cex);
  if (alone && sets.length > 0) {
    return new InputError(`${file}: settings: ${sets.join(', ')} on ${e.ref}: ${e.problem}; expected ${e.expectedIn.settings}`);
  }
  return new InputError(`${file}: scenario: ${e.ref}: ${e.problem}; expected ${e.expectedIn.scenario}`);
}

/**
 * What to say when `file`, given where a scenario was expected, is a
 * counterexample (its format says so), or null when it is not one. The
 * scenario's schema would refuse it key by key ('cex.json:2:3 format: unknown
 * keys …'), which does not say that `replay cex.json --schedule S` takes a
 * scenario with --schedule, and a counterexample file without.
 */
export function counterexampleGivenAsScenario(file: string): string | null {
  let json: unknown;
  try {
    json = parseJsonText(file, readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
  if (typeof json !== 'object' || json === null || (json as { format?: unknown }).format !== CEX_FORMAT) return null;
  return (
    `${file}: a counterexample (format "${CEX_FORMAT}"), not a scenario; expected a scenario where one is named (replay --schedule takes one); ` +
    `a counterexample file is replayed without --schedule: mmulab replay ${shellWord(file)}`
  );
}

/**
 * A file given to replay as a counterexample that is a scenario (a YAML or
 * JSON mapping with a `vm` key and no `schedule`): said so, and what replay
 * takes, in place of the JSON reader's 'not JSON: … got '#''. Null for any
 * other file, and for one that cannot be read or parsed as YAML.
 */
export function scenarioGivenAsCounterexample(file: string): string | null {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'), { maxAliasCount: 100 });
  } catch {
    return null;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || !('vm' in doc) || 'schedule' in doc) return null;
  return (
    `${file}: a scenario, not a counterexample; replay takes a counterexample JSON (check --out writes one), ` +
    `or a scenario with --schedule S (the replay line check prints): mmulab replay ${shellWord(file)} --schedule S`
  );
}
