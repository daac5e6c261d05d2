import { type Counterexample, DEFAULT_MAX_STEPS, encodeSchedule } from '../check/index.js';
import { isScenarioFile } from '../scenario/load.js';
import { shellWord } from './shell-word.js';

/** What a replay line needs: the world (scenario, settings, mutant), the limits it ran under, and the schedule. */
export type Replayable = Pick<Counterexample, 'scenario' | 'settings' | 'mutant' | 'limits' | 'schedule'>;

/**
 * The replay of a counterexample as one command line, the file not needed: the
 * built-in scenario, its settings, the mutant, the limits that differ from
 * check's defaults, and the schedule encoded (schedule-codec.ts). For a commit
 * message or a mail. Null when the line cannot carry it all: a scenario file
 * (the file would be needed), or limits the command line does not set.
 */
export function replayLine(cex: Replayable): string | null {
  return isScenarioFile(cex.scenario) ? null : replayCommandOf(cex);
}

/**
 * replayLine, for a scenario file too (the line then needs the file); null for
 * limits the command line does not set. Also the line that reproduces a model
 * bug, which has no counterexample file: its schedule, with the check's world
 * and limits.
 */
export function replayCommandOf(r: Replayable): string | null {
  const l = r.limits;
  if (!l.fairSpin || (l.spinProgress ?? 'footprint') !== 'footprint') return null;
  const args = ['mmulab', 'replay', shellWord(r.scenario)];
  // As setsOf (cex-input.ts) gives them, each quoted as it needs: a value may hold a space.
  for (const [k, v] of Object.entries(r.settings)) args.push('--set', shellWord(`${k}=${String(v)}`));
  if (r.mutant !== null) args.push('--mutate', r.mutant);
  if (l.maxSteps !== DEFAULT_MAX_STEPS) args.push('--max-steps', String(l.maxSteps));
  if ((l.retries ?? 'deferred') !== 'deferred') args.push('--retries', l.retries!);
  args.push('--schedule', encodeSchedule(r.schedule));
  return args.join(' ');
}
