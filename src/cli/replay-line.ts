import { type Counterexample, DEFAULT_MAX_STEPS, encodeSchedule } from '../check/index.js';
import { isScenarioFile } from '../scenario/load.js';
import { setsOf } from './cex-input.js';
import { shellWord } from './shell-word.js';

/**
 * The replay of a counterexample as one command line, the file not needed: the
 * built-in scenario, its settings, the mutant, the limits that differ from
 * check's defaults, and the schedule encoded (schedule-codec.ts). For a commit
 * message or a mail. Null when the line cannot carry it all: a scenario file
 * (the file would be needed), or limits the command line does not set.
 */
export function replayLine(cex: Counterexample): string | null {
  return isScenarioFile(cex.scenario) ? null : replayCommandOf(cex);
}

/** replayLine, for a scenario file too (the line then needs the file); null for limits the command line does not set. */
export function replayCommandOf(cex: Counterexample): string | null {
  const l = cex.limits;
  if (!l.fairSpin || (l.spinProgress ?? 'footprint') !== 'footprint') return null;
  const args = ['mmulab', 'replay', shellWord(cex.scenario)];
  for (const s of setsOf(cex)) args.push('--set', s);
  if (cex.mutant !== null) args.push('--mutate', cex.mutant);
  if (l.maxSteps !== DEFAULT_MAX_STEPS) args.push('--max-steps', String(l.maxSteps));
  if ((l.retries ?? 'deferred') !== 'deferred') args.push('--retries', l.retries!);
  args.push('--schedule', encodeSchedule(cex.schedule));
  return args.join(' ');
}
