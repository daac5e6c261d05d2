/**
 * A short simulation of a fuzzed scenario that parsed and passed the limits,
 * as `run` makes it (the scenario's settings and seed, no mutant), cut at a few
 * hundred steps: it must end with a JSON-serialisable result, the same on a
 * second run, or with bad input named by the file; anything else is a bug.
 */
import assert from 'node:assert/strict';
import { InputError, inScenario } from '../../src/scenario/input-error.js';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import type { Scenario } from '../../src/scenario/schema.js';
import { simulate } from '../../src/simulate/simulate.js';

/** Steps a fuzzed run is cut at: a few ms each. */
const MAX_STEPS = Number(process.env.FUZZ_MAX_STEPS ?? 300);

/** How a brief run ended. */
export type BriefEnd = 'ran' | 'violated' | 'refused';

function once(s: Scenario): string {
  const r = simulate(s, { settings: effectiveSettings(s), mutant: null, seed: s.seed, maxSteps: MAX_STEPS });
  const json = JSON.stringify(r);
  // Serialisable without loss: no NaN, Infinity, undefined or class instance that JSON would change.
  assert.deepStrictEqual(JSON.parse(json), r, 'the result changes through JSON');
  return json;
}

/** Runs `s` (parsed from `text` in `file`) briefly, twice when `twice`, and says how it ended. */
export function runBriefly(s: Scenario, file: string, text: string, twice: boolean): BriefEnd {
  const input = `\n--- scenario ---\n${text.slice(0, 3000)}`;
  let json: string;
  try {
    json = once(s);
  } catch (e) {
    if (!(e instanceof InputError)) assert.fail(`run: not an InputError: ${(e as Error)?.stack ?? String(e)}${input}`);
    const named = inScenario(file, e) as InputError;
    assert.ok(named.message.startsWith(`${file}`) && !named.message.includes('\n'), `run: not one line naming the file: ${named.message}${input}`);
    return 'refused';
  }
  const r = JSON.parse(json) as { modelBug: string | null; violations: unknown[]; progress: { livelock: boolean } };
  assert.equal(r.modelBug, null, `run: model bug${input}`);
  if (twice) assert.equal(once(s), json, `run: a second run differs${input}`);
  return r.violations.length > 0 || r.progress.livelock ? 'violated' : 'ran';
}
