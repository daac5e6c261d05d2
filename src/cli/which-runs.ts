import type { Settings } from '../kvm/settings.js';
import { printable } from '../report/printable.js';

/** A run, or a variant of a comparison: its label, null for a single run. */
export interface LabelledRun {
  label: string | null;
}

/** A run (or a variant) and its settings in effect. */
export interface SettingsRun extends LabelledRun {
  settings: Settings;
}

/** Which of `all` the runs `some` are, in words: "this run", "any variant", "variant a", "variants a, b". */
export function whichRuns(some: readonly LabelledRun[], all: readonly LabelledRun[]): string {
  if (some.length === 1 && all.length === 1 && some[0]!.label === null) return 'this run';
  if (some.length === all.length) return 'any variant';
  return `${some.length === 1 ? 'variant' : 'variants'} ${some.map((r) => r.label).join(', ')}`;
}

/** Writes a note as a warning, one line of stderr; nothing for null. */
export function warnLine(note: string | null): void {
  if (note !== null) process.stderr.write(`mmulab: warning: ${printable(note)}\n`);
}
