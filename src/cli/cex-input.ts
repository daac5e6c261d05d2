import { readFileSync } from 'node:fs';
import { type Counterexample, type InstanceFactory, parseCounterexample } from '../check/index.js';
import type { Sink } from '../kvm/events.js';
import { MUTANTS } from '../kvm/mutants.js';
import { InputError } from '../scenario/input-error.js';
import { loadScenario, scenarioFromText } from '../scenario/load.js';
import type { Scenario } from '../scenario/schema.js';
import { checkedFactoryFor, factoryForScenario } from './check-factory.js';
import { applySets } from './overrides.js';

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
}

/**
 * Reads a counterexample file for replay, and refuses, naming the file and the
 * field, one whose world this mmulab cannot build: a scenario it does not
 * know or cannot parse, a setting it does not have, a mutant it does not have
 * (replayed without it, the schedule would only diverge further on).
 */
export function readCounterexample(file: string): CexInput {
  let cex: Counterexample;
  try {
    cex = parseCounterexample(JSON.parse(readFileSync(file, 'utf8')));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${file}: ${code === 'ENOENT' ? 'no such file' : code ? `cannot read (${code})` : (e as Error).message}`);
  }
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
  checkedFactoryFor(cex.scenario, setsOf(cex), cex.mutant, scenario);
  return { cex, scenario, factory: (sinks) => factoryForScenario(scenario, cex.scenario, setsOf(cex), cex.mutant, sinks) };
}
