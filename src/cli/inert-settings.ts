import { SETTINGS } from '../kvm/settings.js';
import type { Scenario } from '../scenario/schema.js';
import { setKey } from './overrides.js';
import { type SettingsRun, warnLine, whichRuns } from './which-runs.js';

/** ", under mmu=shadow": what makes the runs `off` ignore a setting, unless each one's label says it already ("variant mmu=shadow"). */
function under(off: readonly SettingsRun[], item: string): string {
  return off.every((r) => r.label?.split(' ').includes(item)) ? '' : `, under ${item}`;
}

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
    lines.push(`${s.key} is read under mmu=${mmu} only (${instead}): it does nothing in ${whichRuns(off, runs)}${under(off, `mmu=${off[0]!.settings.mmu}`)}`);
  }
  // zapBatchPages is kvm_zap_obsolete_pages' batch: the other memslot flushes never read it.
  if (named.has('zapBatchPages')) {
    const off = runs.filter((r) => r.settings.mmu === 'shadow' && r.settings.memslotFlush !== 'zap-all-fast');
    if (off.length > 0) {
      lines.push(
        `zapBatchPages is read by the fast zap only (memslotFlush=zap-all-fast): it does nothing in ${whichRuns(off, runs)}${under(off, `memslotFlush=${off[0]!.settings.memslotFlush}`)}`,
      );
    }
  }
  // The guest's processes are what shadow paging shadows: the TDP MMU never sees them.
  const guestFields = SHADOW_GUEST_FIELDS.filter((k) => givenInWorkload(scenario, k));
  const tdp = runs.filter((r) => r.settings.mmu === 'tdp');
  if (guestFields.length > 0 && tdp.length > 0) {
    lines.push(
      `${guestFields.map((k) => `workload.${k}`).join(', ')} ${guestFields.length > 1 ? 'are' : 'is'} read under mmu=shadow only (the TDP MMU does not shadow the guest's page tables): ${guestFields.length > 1 ? 'they do' : 'it does'} nothing in ${whichRuns(tdp, runs)}`,
    );
  }
  return lines.length > 0 ? lines.join('; ') : null;
}

/** Workload fields only the shadow MMU's guest model reads. */
const SHADOW_GUEST_FIELDS = ['processes', 'processSwitchNs', 'processExitNs', 'sharedProcesses', 'munmapNs', 'munmapFlush'] as const;

/** Whether the scenario file gives `key` a value that does something (in workload or a vcpuWorkloads entry). */
function givenInWorkload(scenario: Scenario, key: (typeof SHADOW_GUEST_FIELDS)[number]): boolean {
  const set = (w: Partial<Record<string, unknown>>) => {
    const v = w[key];
    return v !== undefined && v !== 0 && v !== false && !(key === 'processes' && v === 1) && !(key === 'munmapFlush' && v === 'cr3');
  };
  return set(scenario.workload) || scenario.vcpuWorkloads.some(set);
}

/** Writes inertSettingsNote's line as a warning on stderr, when there is one. */
export function warnInertSettings(scenario: Scenario, given: readonly string[], runs: readonly SettingsRun[]): void {
  warnLine(inertSettingsNote(scenario, given, runs));
}
