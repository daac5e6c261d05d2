import { SETTINGS } from '../kvm/settings.js';
import type { Scenario } from '../scenario/schema.js';
import { setKey } from './overrides.js';
import { type SettingsRun, warnLine, whichRuns } from './which-runs.js';

/**
 * The line that says which settings given (by the scenario, --set or --vary)
 * do nothing in which runs, or null when all of them act: a setting one MMU
 * alone reads (SettingSpec.readUnder), given for a run under the other, changes
 * nothing, and a comparison of its values shows identical columns.
 */
export function inertSettingsNote(scenario: Scenario, given: readonly string[], runs: readonly SettingsRun[]): string | null {
  const named = new Set([...Object.keys(scenario.settings ?? {}), ...given.map(setKey)]);
  const lines: string[] = [];
  for (const s of SETTINGS) {
    if (s.readUnder === undefined || !named.has(s.key)) continue;
    const { mmu, instead } = s.readUnder;
    const off = runs.filter((r) => r.settings.mmu !== mmu);
    if (off.length === 0) continue;
    lines.push(`${s.key} is read under mmu=${mmu} only (${instead}): it does nothing in ${whichRuns(off, runs)}, under mmu=${off[0]!.settings.mmu}`);
  }
  return lines.length > 0 ? lines.join('; ') : null;
}

/** Writes inertSettingsNote's line as a warning on stderr, when there is one. */
export function warnInertSettings(scenario: Scenario, given: readonly string[], runs: readonly SettingsRun[]): void {
  warnLine(inertSettingsNote(scenario, given, runs));
}
