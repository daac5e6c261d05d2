import { rangeText, SETTINGS, type Settings } from '../kvm/settings.js';
import { MAX_SEED } from '../runtime/prng.js';
import { parseFlavour, parseRingSize } from '../scenario/dirty-log-flavour.js';
import { InputError } from '../scenario/input-error.js';
import type { Scenario } from '../scenario/schema.js';
import { resize, type ScenarioSize } from '../scenario/size.js';
import { isSizeKey, SIZE_KEYS, type Vary, type VaryKey } from './variants.js';

/**
 * Parses one `key=value` setting from the command line against the settings
 * table; `given` is how a refusal quotes it (--vary's whole list as typed).
 */
export function parseSetting(text: string, where = '--set', given = `${where} ${text}`): [keyof Settings, string | boolean | number] {
  const key = setKey(text);
  if (key === '') throw new InputError(`${given}: expected key=value`);
  const raw = text.slice(key.length + 1);
  const spec = SETTINGS.find((s) => s.key === key);
  if (spec === undefined) {
    throw new InputError(`${given}: unknown setting '${key}'; expected one of ${[...SETTINGS.map((s) => s.key), ...SIZE_KEYS].join(', ')}`);
  }
  if (spec.range !== undefined) {
    // An integer setting that takes a word too (maxMmuPages=auto).
    if (spec.values.includes(raw)) return [spec.key, raw];
    const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(n >= spec.range.min && n <= spec.range.max)) throw new InputError(`${given}: ${key} expects ${rangeText(spec.range, spec.values)}`);
    return [spec.key, n];
  }
  const value = typeof spec.default === 'boolean' ? (raw === 'true' ? true : raw === 'false' ? false : raw) : raw;
  if (!spec.values.includes(value as never)) {
    throw new InputError(`${given}: ${key} expects one of ${spec.values.join(', ')}`);
  }
  return [spec.key, value];
}

/** The key of a `key=value` item (--set, --vary): what comes before its first '=', or '' when it has none. */
export function setKey(item: string): string {
  return item.slice(0, Math.max(0, item.indexOf('=')));
}

/** A --set list as results and counterexamples record it: key → the value as given. */
export function settingsOf(sets: readonly string[]): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const s of sets) {
    const key = setKey(s);
    settings[key] = s.slice(key.length + 1);
  }
  return settings;
}

/**
 * Parses repeated --set options (or what `where` names) into a partial settings
 * object. A key given twice is refused: the later silently won.
 */
export function parseSettings(list: readonly string[], where = '--set'): Partial<Settings> {
  const out: Record<string, unknown> = {};
  const given = new Map<string, string>();
  for (const s of list) {
    const [k, v] = parseSetting(s, where);
    onceEach(given, k, s, where);
    out[k] = v;
  }
  return out as Partial<Settings>;
}

/** Records `item` (key=value) of a --set list in `given`, refusing a key already there. */
function onceEach(given: Map<string, string>, key: string, item: string, where: string): void {
  const before = given.get(key);
  if (before !== undefined) throw new InputError(`${where} ${item}: ${key} is already set (${where} ${before}); expected each setting once`);
  given.set(key, item);
}

/**
 * Refuses a key both --set and --vary give (compare, sweep): the varied values
 * ran, but results recorded the --set and its scenario digest.
 */
export function refuseSetAndVaried(sets: readonly string[], varies: readonly string[]): void {
  for (const item of sets) {
    const key = setKey(item);
    const varied = varies.find((v) => setKey(v) === key);
    if (varied !== undefined) throw new InputError(`--set ${item}: ${key} is varied too (--vary ${varied}); expected it in --set or in --vary, not both`);
  }
}

/**
 * Parses a --vary key=a,b[,c] into the key and its values: a setting, or a size
 * knob (vcpus=1,8,64). An empty value (mmu=tdp,,shadow) and a value given twice
 * (vcpus=1,01: the same count) are refused: the one was dropped silently and
 * the other made two columns of one variant.
 */
export function parseVary(text: string): Vary[number] {
  const key = setKey(text);
  if (key === '') throw new InputError(`--vary ${text}: expected key=a,b[,c]`);
  const raw = text.slice(key.length + 1).split(',');
  if (raw.length === 1 && raw[0] === '') throw new InputError(`--vary ${text}: expected at least one value`);
  const empty = raw.indexOf('');
  if (empty >= 0) throw new InputError(`--vary ${text}: value ${empty + 1} of ${raw.length} is empty; expected key=a,b[,c] with no empty value`);
  const values: (string | boolean | number)[] = isSizeKey(key)
    ? raw.map((v) => parseSize(key, v, `--vary ${text}`))
    : raw.map((v) => parseSetting(`${key}=${v}`, '--vary', `--vary ${text}`)[1]);
  for (let i = 0; i < values.length; i++) {
    const first = values.indexOf(values[i]!);
    if (first < i) throw new InputError(`--vary ${text}: ${key}=${values[i]} given twice (${raw[first]}, ${raw[i]}); expected each value once`);
  }
  return { key: key as VaryKey, values };
}

/** Parses repeated --vary options; a key given twice is refused (the later would silently win, the rows' labels would lie). */
export function parseVaries(list: readonly string[]): Vary {
  const out: Vary = [];
  for (const text of list) {
    const v = parseVary(text);
    if (out.some((o) => o.key === v.key))
      throw new InputError(`--vary ${text}: ${v.key} is varied twice; expected each key once, its values together (--vary ${v.key}=a,b)`);
    out.push(v);
  }
  return out;
}

/** A scenario knob's value: a count (vCPUs from 1 to 1024), a dirty-log flavour, a ring size. */
function parseSize(key: (typeof SIZE_KEYS)[number], text: string, given: string): number | string {
  if (key === 'dirtyLog') return parseFlavour(text, given);
  if (key === 'ringSize') return parseRingSize(text, given);
  // A scenario needs a vCPU; 0 invalidations or accesses is a scenario still.
  const vcpus = key === 'vcpus';
  const n = parseCount(key, text, vcpus ? 1024 : 1e9, given, vcpus);
  if (vcpus && n < 1) throw new InputError(`${given}: expected at least 1 vCPU`);
  return n;
}

/**
 * Parses an integer option, non-negative, or with `positive` at least 1 (the text refused says which, so that
 * -1 and 0 are not refused for two different reasons); `given` is how a bad value is quoted (the option and its text).
 */
export function parseCount(name: string, text: string, max = Number.MAX_SAFE_INTEGER, given = `${name} ${text}`, positive = false): number {
  if (!/^\d+$/.test(text)) throw new InputError(`${given}: expected a ${positive ? 'positive' : 'non-negative'} integer`);
  const n = Number(text);
  if (n > max) throw new InputError(`${given}: expected at most ${max}`);
  return n;
}

/** Parses --seed: what a scenario's seed field takes. */
export function parseSeed(text: string): number {
  return parseCount('--seed', text, MAX_SEED);
}

/** The seeds of --seeds n from the scenario's seed on, each one `run --seed` takes. */
export function seedRange(first: number, n: number): number[] {
  if (first + n - 1 > MAX_SEED)
    throw new InputError(`--seeds ${n}: seeds ${first} to ${first + n - 1}, past ${MAX_SEED}; expected at most ${MAX_SEED - first + 1} from seed ${first}`);
  return Array.from({ length: n }, (_, i) => first + i);
}

/** Parses a count option that must be at least 1 (0 would run nothing, and a verdict would still be printed). */
export function parsePositive(name: string, text: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = parseCount(name, text, max, undefined, true);
  if (n === 0) throw new InputError(`${name} ${text}: expected at least 1`);
  return n;
}

/**
 * Splits --set entries into model settings and scenario size knobs: vcpus (N),
 * invalidations (I: count of every host invalidation thread), faultsPerVcpu (F:
 * guest accesses per vCPU). Returns the resized scenario, the settings and the
 * size knobs given (undefined when none was).
 */
export function applySets(
  scenario: Scenario,
  list: readonly string[],
  where = '--set',
): { scenario: Scenario; settings: Partial<Settings>; size: ScenarioSize | undefined } {
  const rest: string[] = [];
  const size: ScenarioSize = {};
  const given = new Map<string, string>();
  for (const item of list) {
    const key = setKey(item);
    if (!isSizeKey(key)) {
      rest.push(item);
      continue;
    }
    (size as Record<string, number | string>)[key] = parseSize(key, item.slice(key.length + 1), `${where} ${item}`);
    onceEach(given, key, item, where);
  }
  let resized: Scenario;
  try {
    resized = resize(scenario, size);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${where} ${e.message}`);
    throw e;
  }
  return { scenario: resized, settings: parseSettings(rest, where), size: Object.keys(size).length > 0 ? size : undefined };
}
