import { shellWord } from '../cli/shell-word.js';
import { builtinNames, isScenarioFile } from '../scenario/load.js';
import type { RunResult } from '../simulate/result.js';
import type { SweepResult } from './sweep.js';

/** How many violating cells a sweep names one line each; the rest are counted. */
const MAX_LINES = 10;

type Cell = Pick<RunResult, 'violations' | 'progress'>;

/** A cell that violated a property or livelocked. */
const isBad = (r: Cell) => r.violations.length > 0 || r.progress.livelock;

/**
 * One line per cell that violated a property or livelocked (the first MAX_LINES, then a count):
 * its variant and seed, what it found, and the `mmulab run` that replays it. `ref`: the scenario as
 * the sweep was given it (a built-in's name, or a file's path as typed), which the line names so that
 * it can be pasted; null for a merge, which knows only the name the parts recorded (runScenario).
 */
export function badCellLines(s: Pick<SweepResult, 'scenario' | 'sets' | 'mutant' | 'maxSteps' | 'rows'>, ref: string | null): string[] {
  const { word, note } = runScenario(s.scenario, ref);
  const lines: string[] = [];
  let more = 0;
  for (const row of s.rows) {
    for (const r of row.results) {
      if (!isBad(r)) continue;
      if (lines.length === MAX_LINES) {
        more++;
        continue;
      }
      const found = r.violations.length > 0 ? `${r.violations[0]!.kind}${r.violations.length > 1 ? ` (and ${r.violations.length - 1} more)` : ''}` : 'livelock';
      const varied = row.label === 'default' ? [] : row.label.split(' ');
      const sets = [...s.sets, ...varied].map((x) => ` --set ${shellWord(x)}`).join('');
      const mutant = s.mutant !== null ? ` --mutate ${s.mutant}` : '';
      const steps = s.maxSteps !== null ? ` --max-steps ${s.maxSteps}` : '';
      lines.push(`${row.label} seed ${r.seed}: ${found}; replay it with: mmulab run ${word}${sets}${mutant}${steps} --seed ${r.seed}${note}`);
    }
  }
  if (more > 0) lines.push(`and ${more} more cell${more === 1 ? '' : 's'} with a violation or a livelock (in the --json)`);
  return lines;
}

/**
 * The scenario a replay line's `mmulab run` names: `ref` as given, quoted as the shell needs. A merge
 * has the name the parts recorded (SweepResult.scenario), the scenario's own: a built-in's, or, for a
 * file that names itself none, its path as the sweep was given it, both of which run names again. A
 * file that names itself is not found by its name: the line says FILE, and what FILE is.
 */
function runScenario(name: string, ref: string | null): { word: string; note: string } {
  if (ref !== null) return { word: shellWord(ref), note: '' };
  if (isScenarioFile(name) || builtinNames().includes(name)) return { word: shellWord(name), note: '' };
  return { word: 'FILE', note: ` (FILE: the scenario file the parts ran, which names itself ${shellWord(name)})` };
}
