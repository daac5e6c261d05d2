import { setKey } from '../cli/overrides.js';
import { isSizeKey } from '../cli/variants.js';
import { InputError } from '../scenario/input-error.js';

/** A digest cut to what a message needs to tell two apart. */
export function shortDigest(d: string): string {
  return d.length > 19 ? `${d.slice(0, 19)}…` : d;
}

/**
 * Refuses a part of another build of mmulab than the first's (`build`, see
 * buildDigest; undefined in files from before it was recorded): the model and
 * the checker count differently from one build to the next. Sweeps and checks alike.
 */
export function refuseOtherBuild(unlike: ReturnType<typeof differs>, got: string | undefined, expected: string | undefined): void {
  if (got !== expected) throw unlike('the mmulab that wrote it (build; run every part with one)', shortDigest(got ?? ''), shortDigest(expected ?? ''));
}

/** A --set list as a record (key → value as given; a key given twice keeps the last), for comparing two parts' lists in any order. */
export function setsRecord(sets: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of sets) {
    // An item without '=' (a part file edited by hand) is a key of its own, with no value.
    const key = s.includes('=') ? setKey(s) : s;
    out[key] = s.slice(key.length + 1);
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Whether two parts' --set lists (records: key → value as given) made one run:
 * alike, or alike but for the scenario knobs (vcpus, dirtyLog, ringSize, …)
 * where the scenarios they made digest alike (`sameScenario`): `ringSize=4`
 * and `dirtyLog=ring:4` on a ring, `vcpus=1` and `vcpus=01`. The scenario as
 * run, not the words that made it, is what a knob leaves of a run.
 */
export function sameSets(a: Record<string, unknown>, b: Record<string, unknown>, sameScenario: boolean): boolean {
  const settings = (r: Record<string, unknown>) =>
    JSON.stringify(
      Object.entries(r)
        .filter(([k]) => !(sameScenario && isSizeKey(k)))
        .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
    );
  return settings(a) === settings(b);
}

/**
 * The refusal of a part that does not come from the same run as the first:
 * `<file>: <what> differs from <first file>'s: <value> against <value>`.
 */
export function differs(name: string, firstName: string): (what: string, got: unknown, expected: unknown) => InputError {
  const show = (v: unknown) => (typeof v === 'string' ? (v === '' ? '(none)' : v) : v === null || v === undefined ? '(none)' : String(v));
  return (what, got, expected) => new InputError(`${name}: ${what} differs from ${firstName}'s: ${show(got)} against ${show(expected)}`);
}
