import { defaultSettings, SETTINGS, type Settings } from '../kvm/settings.js';

/** Where a setting's value in a run came from. */
export type SettingSource =
  /** given on the command line (--set), as the counterexample records it */
  | 'command line'
  /** not the default, nor given on the command line: the scenario sets it */
  | 'scenario'
  /** the default value (the scenario may name it too: the run is the same) */
  | 'default';

/** One setting of a run, as the counterexample page lists it. */
export interface SettingRow {
  key: keyof Settings;
  value: string | boolean | number;
  from: SettingSource;
  /** What the model does instead, when the run's MMU does not read this setting (SettingSpec.readUnder). */
  unread?: string;
}

/**
 * The settings a run used, each with where its value came from: `effective`
 * are the settings in effect (defaults, then the scenario's, then the command
 * line's: scenario/instantiate.ts effectiveSettings), `given` those the
 * command line set (a counterexample's `settings`). A value that differs from
 * the default and was not given can only be the scenario's.
 */
export function settingRows(effective: Settings, given: Readonly<Record<string, unknown>>): SettingRow[] {
  const defaults = defaultSettings();
  return SETTINGS.map((spec) => {
    const value = effective[spec.key];
    const from: SettingSource = Object.hasOwn(given, spec.key) ? 'command line' : value !== defaults[spec.key] ? 'scenario' : 'default';
    const unread = spec.readUnder !== undefined && effective.mmu !== spec.readUnder.mmu ? spec.readUnder.instead : undefined;
    return { key: spec.key, value, from, ...(unread !== undefined ? { unread } : {}) };
  });
}
