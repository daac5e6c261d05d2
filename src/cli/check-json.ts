import { type CheckResult, type ExplorePart, mergeParts, type RetryRule, type Shard, type StrategySpec, type Summary } from '../check/index.js';
import type { Violation } from '../runtime/instance.js';
import { InputError } from '../scenario/input-error.js';

/** Format of `check --json`. */
export const CHECK_FORMAT = 'mmulab-check/1';

/** What was explored, which every part of a merge must share. */
export interface Exploration {
  strategy: StrategySpec;
  maxExecutions: number | null;
  maxSteps: number | null;
  /** When a thread that failed an attempt retries (see RetryRule); files from before it retried at any point. */
  retries?: RetryRule;
}

/**
 * The summary `check --json` writes. A part (--shard i/n) is one such file;
 * `parts` holds each worker's figures by unit, which `mmulab merge` needs to
 * put the unsharded run's figures back together.
 */
export interface CheckJson {
  format: typeof CHECK_FORMAT;
  scenario: string;
  settings: Record<string, unknown>;
  mutant: string | null;
  seed: number;
  summary: Summary;
  violation: Violation | null;
  /** File the counterexample was written to, or null. */
  counterexample: string | null;
  /** How the counterexample was minimised (sizes before and after, the search for the smallest), or null. */
  minimisation: CheckResult['minimisation'];
  partial: boolean;
  /** The part of the exploration this file holds, or null for all of it. */
  shard: Shard | null;
  exploration: Exploration;
  parts: ExplorePart[];
  /** dfs with explored states: states the full table made it explore again (CheckResult.statesLost); absent when none. */
  statesLost?: number;
}

/** Wall times to whole milliseconds, as every result file has them. */
export function roundedSummary(s: Summary): Summary {
  return { ...s, wallMs: Math.round(s.wallMs) };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Merges check parts (any order) into the file the unsharded check gives: the
 * same summary but wall times (see mergeParts), the violation that comes first
 * in the exploration's order and the counterexample file of the part that
 * found it. Parts must come from the same check; a missing part makes the
 * result partial.
 */
export function mergeChecks(files: readonly { name: string; json: CheckJson }[]): CheckJson {
  const first = files[0]!.json;
  for (const { name, json: p } of files) {
    if (p.format !== CHECK_FORMAT) throw new InputError(`merge: ${name}: expected format ${CHECK_FORMAT}, got ${JSON.stringify(p.format)}`);
    if (
      p.scenario !== first.scenario ||
      p.mutant !== first.mutant ||
      p.seed !== first.seed ||
      !same(p.settings, first.settings) ||
      !same(p.exploration, first.exploration)
    ) {
      throw new InputError(`merge: ${name}: the parts come from different checks (scenario, --set, --mutate, --seed, strategy or bounds differ)`);
    }
    if (!Array.isArray(p.parts) || p.parts.length === 0) throw new InputError(`merge: ${name}: no parts (written by an older mmulab?)`);
  }
  const all = files.flatMap((f) => f.json.parts.map((part) => ({ part, file: f.json })));
  let m: ReturnType<typeof mergeParts>;
  try {
    m = mergeParts(all.map((a) => a.part));
  } catch (e) {
    throw new InputError((e as Error).message);
  }
  const lead = m.first === null ? null : all[m.first]!.file;
  const lost = files.reduce((n, f) => n + (f.json.statesLost ?? 0), 0);
  return {
    format: CHECK_FORMAT,
    scenario: first.scenario,
    settings: first.settings,
    mutant: first.mutant,
    seed: first.seed,
    summary: roundedSummary(m.summary),
    violation: lead?.violation ?? null,
    counterexample: lead?.counterexample ?? null,
    minimisation: lead?.minimisation ?? null,
    partial: m.incomplete || files.some((f) => f.json.partial),
    shard: null,
    exploration: first.exploration,
    parts: all.map((a) => a.part),
    ...(lost > 0 ? { statesLost: lost } : {}),
  };
}
