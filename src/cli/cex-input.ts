import { readFileSync } from 'node:fs';
import { type Counterexample, parseCounterexample } from '../check/index.js';
import { MUTANTS } from '../kvm/mutants.js';
import { InputError } from '../scenario/input-error.js';
import { loadScenario } from '../scenario/load.js';
import { applySets } from './overrides.js';

/** The --set list a counterexample's settings stand for (size knobs included). */
export function setsOf(cex: Counterexample): string[] {
  return Object.entries(cex.settings).map(([k, v]) => `${k}=${String(v)}`);
}

/**
 * Reads a counterexample file for replay, and refuses, naming the file and the
 * field, one whose world this mmulab cannot build: a scenario it does not
 * know, a setting it does not have, a mutant it does not have (replayed
 * without it, the schedule would only diverge further on).
 */
export function readCounterexample(file: string): Counterexample {
  let cex: Counterexample;
  try {
    cex = parseCounterexample(JSON.parse(readFileSync(file, 'utf8')));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${file}: ${code === 'ENOENT' ? 'no such file' : code ? `cannot read (${code})` : (e as Error).message}`);
  }
  const within = (field: string, f: () => void) => {
    try {
      f();
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`${file}: ${field}: ${e.message}`);
      throw e;
    }
  };
  within('scenario', () => loadScenario(cex.scenario));
  applySets(loadScenario(cex.scenario), setsOf(cex), `${file}: settings`);
  if (cex.mutant !== null && !MUTANTS.some((m) => m.name === cex.mutant)) {
    throw new InputError(`${file}: mutant: unknown mutant '${cex.mutant}'; expected null or one of ${MUTANTS.map((m) => m.name).join(', ')}`);
  }
  return cex;
}
