import type { Settings } from '../kvm/settings.js';
import { printable } from '../report/printable.js';
import type { Scenario } from '../scenario/schema.js';

/**
 * Settings that only one MMU reads, and what the other does instead: given for
 * a run under the other MMU, their value changes nothing, and a comparison of
 * them shows identical columns with nothing said.
 */
const ONLY_UNDER: readonly { key: keyof Settings; mmu: Settings['mmu']; instead: string }[] = [
  { key: 'memslotFlush', mmu: 'shadow', instead: 'the TDP MMU always zaps by generation, kvm_mmu_zap_all_fast' },
];

/** A run (or a variant) and its settings in effect; its label in a comparison, null for a single run. */
export interface SettingsRun {
  label: string | null;
  settings: Settings;
}

/**
 * The line that says which settings given (by the scenario, --set or --vary)
 * do nothing in which runs, or null when all of them act.
 */
export function inertSettingsNote(scenario: Scenario, given: readonly string[], runs: readonly SettingsRun[]): string | null {
  const named = new Set([...Object.keys(scenario.settings ?? {}), ...given.map((g) => g.slice(0, Math.max(0, g.indexOf('='))))]);
  const lines: string[] = [];
  for (const o of ONLY_UNDER) {
    if (!named.has(o.key)) continue;
    const off = runs.filter((r) => r.settings.mmu !== o.mmu);
    if (off.length === 0) continue;
    const where =
      off.length === 1 && off[0]!.label === null ? 'this run' : off.length === runs.length ? 'any variant' : `variants ${off.map((r) => r.label).join(', ')}`;
    lines.push(`${o.key} is read under mmu=${o.mmu} only (${o.instead}): it does nothing in ${where}, under mmu=${off[0]!.settings.mmu}`);
  }
  return lines.length > 0 ? lines.join('; ') : null;
}

/** Writes inertSettingsNote's line as a warning on stderr, when there is one. */
export function warnInertSettings(scenario: Scenario, given: readonly string[], runs: readonly SettingsRun[]): void {
  const note = inertSettingsNote(scenario, given, runs);
  if (note !== null) process.stderr.write(`mmulab: warning: ${printable(note)}\n`);
}
