import type { Settings } from '../kvm/settings.js';
import { scenarioDigest } from '../scenario/digest.js';
import { InputError } from '../scenario/input-error.js';
import { createInstance, effectiveSettings } from '../scenario/instantiate.js';
import { checkScenarioLimits } from '../scenario/limits.js';
import type { Scenario } from '../scenario/schema.js';
import { resize, type ScenarioSize } from '../scenario/size.js';

/** What --vary may vary: a model setting, or a size knob any scenario accepts. */
export type VaryKey = keyof Settings | keyof ScenarioSize;

/** The varied keys and their values, in the order given (--vary, repeated). */
export type Vary = { key: VaryKey; values: (string | boolean | number)[] }[];

/** The scenario knobs (size, then dirty-log flavour), as --set and --vary name them. */
export const SIZE_KEYS = ['vcpus', 'invalidations', 'faultsPerVcpu', 'dirtyLog', 'ringSize'] as const satisfies readonly (keyof ScenarioSize)[];

/** True for a scenario knob's name (vcpus, invalidations, faultsPerVcpu, dirtyLog, ringSize). */
export function isSizeKey(key: string): key is (typeof SIZE_KEYS)[number] {
  return (SIZE_KEYS as readonly string[]).includes(key);
}

/** One combination of the varied values: what compare and sweep run as a row. */
export interface Variant {
  /** "key=value key2=value2", or "default" when nothing is varied. */
  label: string;
  /** The settings in effect: defaults, the scenario's, --set, then the varied ones. */
  settings: Settings;
  /** The varied size knobs, when any are (the row's scenario is resized by them). */
  size?: ScenarioSize;
}

/** Every combination of the varied values, in the order given, first key slowest. */
export function variants(scenario: Scenario, base: Partial<Settings>, vary: Vary): Variant[] {
  let combos: [VaryKey, string | boolean | number][][] = [[]];
  for (const v of vary) combos = combos.flatMap((c) => v.values.map((val) => [...c, [v.key, val] as [VaryKey, string | boolean | number]]));
  return combos.map((c) => {
    const over: Record<string, unknown> = {};
    const size: Record<string, number | string> = {};
    for (const [k, val] of c) {
      if (isSizeKey(k)) size[k] = val as number | string;
      else over[k] = val;
    }
    return {
      label: c.map(([k, val]) => `${k}=${val}`).join(' ') || 'default',
      settings: effectiveSettings(scenario, { ...base, ...(over as Partial<Settings>) }),
      ...(Object.keys(size).length > 0 ? { size: size as ScenarioSize } : {}),
    };
  });
}

/** The scenario a variant runs: resized when it varies a size knob. */
export function variantScenario(scenario: Scenario, v: { size?: ScenarioSize }): Scenario {
  return v.size === undefined ? scenario : resize(scenario, v.size);
}

/**
 * Refuses (exit 2), before anything runs, a variant the limits or the model
 * refuse (a size past the limits, vCPUs whose page tables no longer fit the
 * memslots), a variant whose knobs clash with the --set ones (`set`: the
 * scenario as loaded and the --set knobs; a ring size given twice, a ring size
 * for a bitmap), and two variants that are one run (the same scenario and
 * settings: dirtyLog=ring,ring:2 where the ring has 2 entries): each is built
 * once, and an error names it.
 */
export function checkVariants(scenario: Scenario, rows: readonly Variant[], where: string, set?: { loaded: Scenario; size: ScenarioSize | undefined }): void {
  const runs = new Map<string, string>();
  for (const v of rows) {
    let s: Scenario;
    try {
      // The --set knobs and the row's together, as one run would take them: what the two steps of resizing cannot see.
      if (set?.size !== undefined && v.size !== undefined) resize(set.loaded, { ...set.size, ...v.size });
      s = variantScenario(scenario, v);
      if (v.size !== undefined) checkScenarioLimits(s, where);
      createInstance(s, { settings: v.settings, mutant: null, log: false, metrics: false }).dispose?.();
    } catch (e) {
      if (e instanceof InputError)
        throw new InputError(`${where} (${v.label}): ${e.message.startsWith(`${where}: `) ? e.message.slice(where.length + 2) : e.message}`);
      throw e;
    }
    const run = `${scenarioDigest(s)} ${JSON.stringify(v.settings)}`;
    const twin = runs.get(run);
    if (twin !== undefined)
      throw new InputError(`${where}: variants ${twin} and ${v.label} are one run (the same scenario and settings); expected each variant once`);
    runs.set(run, v.label);
  }
}

/** The --vary values by key, as results record them. */
export function varyRecord(vary: Vary): Record<string, (string | boolean | number)[]> {
  const out: Record<string, (string | boolean | number)[]> = {};
  for (const v of vary) out[v.key] = v.values;
  return out;
}

/**
 * Bad input one variant's run found as it ran (its scenario's sizing under that
 * variant's settings, say), named by the variant and seed it came from; other
 * errors go through unchanged.
 */
export function inVariant(e: unknown, label: string | null, seed: number): unknown {
  if (!(e instanceof InputError)) return e;
  return new InputError(failedIn(e.message, label, seed));
}

/** An error message of a variant's run, with the variant and seed it came from. */
export function failedIn(message: string, label: string | null, seed: number): string {
  return `${message} (in the run of ${label ?? 'the scenario as it is'}, seed ${seed})`;
}

/** The number of the run of variant `row` with its `k`-th seed: variants in turn, each with every seed (a sweep's cells). */
export function cellIndex(row: number, k: number, seeds: number): number {
  return row * seeds + k;
}
