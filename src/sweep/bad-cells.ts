import { shellWord } from '../cli/shell-word.js';
import type { RunResult } from '../simulate/result.js';
import type { SweepResult } from './sweep.js';

/** How many violating cells a sweep names one line each; the rest are counted. */
const MAX_LINES = 10;

type Cell = Pick<RunResult, 'violations' | 'progress'>;

/** A cell that violated a property or livelocked. */
const isBad = (r: Cell) => r.violations.length > 0 || r.progress.livelock;

/**
 * One line per cell that violated a property or livelocked (the first MAX_LINES, then a count):
 * its variant and seed, what it found, and the `mmulab run` that replays it.
 */
export function badCellLines(s: Pick<SweepResult, 'scenario' | 'sets' | 'mutant' | 'maxSteps' | 'rows'>): string[] {
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
      lines.push(`${row.label} seed ${r.seed}: ${found}; replay it with: mmulab run ${shellWord(s.scenario)}${sets}${mutant}${steps} --seed ${r.seed}`);
    }
  }
  if (more > 0) lines.push(`and ${more} more cell${more === 1 ? '' : 's'} with a violation or a livelock (in the --json)`);
  return lines;
}
