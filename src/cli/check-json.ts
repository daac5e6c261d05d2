import {
  type CheckResult,
  combineStriped,
  type ExplorePart,
  type MergedParts,
  type MergeGap,
  mergeParts,
  PartsOverlap,
  type RetryRule,
  type Shard,
  type StrategySpec,
  type Summary,
} from '../check/index.js';
import type { Violation } from '../runtime/instance.js';
import { InputError } from '../scenario/input-error.js';
import { differentSplits } from '../sweep/grid.js';
import { differs, refuseOtherBuild, sameSets, shortDigest } from '../sweep/merge-identity.js';

/** Format of `check --json`. */
export const CHECK_FORMAT = 'mmulab-check/1';

/** The model's own random choices, in words (drawnChoices): all of them, and those a search took from --seed rather than branched on. */
export interface DrawnChoices {
  all: string[];
  seeded: string[];
}

/** What was explored, which every part of a merge must share. */
export interface Exploration {
  strategy: StrategySpec;
  maxExecutions: number | null;
  maxSteps: number | null;
  /** When a thread that failed an attempt retries (see RetryRule); files from before it retried at any point. */
  retries?: RetryRule;
}

/** The model threw (check exits 3): what it said, and the execution that makes it throw again. */
export interface ModelBugJson {
  /** The exception, its class first ("TypeError: …"), as check and replay print it (modelBugMessage). */
  message: string;
  /** The execution up to the throw, the step that threw included, encoded as replay --schedule takes it (schedule-codec.ts). Not minimised. */
  schedule: string;
  /** The command line that replays it (replayCommandOf), or null when a command line cannot set the check's limits. */
  replay: string | null;
}

/**
 * The summary `check --json` writes. A part (--shard i/n) is one such file;
 * `parts` holds each worker's figures by unit, which `mmulab merge` needs to
 * put the unsharded run's figures back together.
 */
export interface CheckJson {
  format: typeof CHECK_FORMAT;
  scenario: string;
  /** The scenario as run (its content, resized by the size --sets): scenarioDigest. */
  scenarioDigest: string;
  /** The mmulab that ran it (buildDigest); absent in files from before it was recorded. */
  build?: string;
  settings: Record<string, unknown>;
  mutant: string | null;
  seed: number;
  summary: Summary;
  /** The violation as the counterexample shows it (minimised), as check prints it; the one the search found, when there is no counterexample. */
  violation: Violation | null;
  /** File the counterexample was written to, or null. */
  counterexample: string | null;
  /**
   * Merged files only, when the counterexample file of the part that found the
   * violation was not found from where merge ran (`counterexample` is then
   * null): that part's file (an absolute path) and the path it recorded, as
   * check was given it (relative to the folder the check ran in, when relative).
   */
  counterexampleNotFound?: { part: string; path: string };
  /** How the counterexample was minimised (sizes before and after, the search for the smallest), or null. */
  minimisation: CheckResult['minimisation'];
  /**
   * The command that replays the counterexample without its file (its schedule encoded), as check prints
   * it: for merge to print it when the file was written on another machine. Absent with no counterexample,
   * or limits no command line sets (and in files from before it was recorded).
   */
  replay?: string;
  /** Not all of what was asked was explored: stopped by --time-limit or SIGINT; merged, parts missing or cut short (see mergeChecks). */
  partial: boolean;
  /** The part of the exploration this file holds, or null for all of it. */
  shard: Shard | null;
  exploration: Exploration;
  /** The model's own random choices, when it makes any: what an exhausted verdict covers of them (absent in files from before it). */
  drawnChoices?: DrawnChoices;
  parts: ExplorePart[];
  /** dfs with explored states: states the full table made it explore again (CheckResult.statesLost); absent when none. */
  statesLost?: number;
  /**
   * dfs with a preemption bound and explored states, exhausted: the bound kept
   * no thread from running in any execution (CheckResult.boundCut), so what ran
   * is the whole space, and the verdict says so (a world of one interleaving);
   * merged, when every part says it. Absent otherwise.
   */
  boundCutNone?: true;
  /** Set when the exploration stopped because the model threw (summary.stoppedBy 'model-bug'); absent otherwise. */
  modelBug?: ModelBugJson;
}

/** Wall times to whole milliseconds, as every result file has them. */
export function roundedSummary(s: Summary): Summary {
  return { ...s, wallMs: Math.round(s.wallMs) };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** A check file named by where it was read from (its path as given to merge). */
export interface NamedCheck {
  name: string;
  json: CheckJson;
}

/** Check parts merged: the file the unsharded check gives, and why it is partial, one line each (empty when it is not). */
export interface MergedChecks {
  json: CheckJson;
  gaps: string[];
  /** Some units are in no part: a part was not given (or not run). */
  missing: boolean;
  /** The --shard i/n of the parts not given ("2/3"), when every file is a part of one split; else empty. */
  missingShards: string[];
  /** The file (its index among those merged) whose violation and counterexample the result has, or null when none has. */
  lead: number | null;
  /** The parts cut short (SIGINT, --time-limit) before units the result needs: the file, its --shard i/n, and why. */
  cut: { name: string; shard: string; stoppedBy: string }[];
}

/**
 * Merges check parts (any order) into the file the unsharded check gives: the
 * same summary but wall times (see mergeParts), the violation that comes first
 * in the exploration's order and the counterexample file of the part that
 * found it, and the parts in shard order, each cut at that violation as the
 * unsharded check's are (see mergeParts). Parts must come from the same check (an InputError names the file
 * and what differs). A missing part, or one cut short before units the result
 * needs, makes the result partial; a violation is then not known to be the
 * unsharded check's first, and its execution number is null.
 */
export function mergeChecks(files: readonly NamedCheck[]): MergedChecks {
  if (files.length === 0) throw new InputError('merge: expected at least one result file');
  const { name: firstName, json: first } = files[0]!;
  for (const { name, json: p } of files) {
    if (p.format !== CHECK_FORMAT) throw new InputError(`${name}: format: expected "${CHECK_FORMAT}" (as ${firstName} has), got ${JSON.stringify(p.format)}`);
    const unlike = differs(name, firstName);
    if (p.scenario !== first.scenario) throw unlike('scenario', p.scenario, first.scenario);
    if (!sameSets(p.settings, first.settings, p.scenarioDigest === first.scenarioDigest)) throw unlike('--set', setList(p.settings), setList(first.settings));
    if (p.mutant !== first.mutant) throw unlike('--mutate', p.mutant, first.mutant);
    if (p.seed !== first.seed) throw unlike('--seed', p.seed, first.seed);
    const e = p.exploration;
    const f = first.exploration;
    if (!same(e.strategy, f.strategy)) throw unlike('the strategy (exploration.strategy)', JSON.stringify(e.strategy), JSON.stringify(f.strategy));
    if (e.maxExecutions !== f.maxExecutions) throw unlike('--max-executions', e.maxExecutions, f.maxExecutions);
    if (e.maxSteps !== f.maxSteps) throw unlike('--max-steps', e.maxSteps, f.maxSteps);
    if (e.retries !== f.retries) throw unlike('--retries', e.retries, f.retries);
    if (!same(p.exploration, first.exploration)) throw unlike('exploration', JSON.stringify(p.exploration), JSON.stringify(first.exploration));
    if (p.scenarioDigest !== first.scenarioDigest)
      throw unlike("the scenario's content (scenarioDigest)", shortDigest(p.scenarioDigest), shortDigest(first.scenarioDigest));
    refuseOtherBuild(unlike, p.build, first.build);
    if (!same(p.drawnChoices, first.drawnChoices)) throw unlike('drawnChoices', JSON.stringify(p.drawnChoices), JSON.stringify(first.drawnChoices));
    if (p.parts.length === 0) throw new InputError(`${name}: parts: expected at least one part (written by an older mmulab?)`);
    // auto and the iterative bound run phases (levels) in turn, never as parts: merged, their levels and bounded verdict would be lost.
    const phased = e.strategy.kind === 'auto' ? '--strategy auto' : e.strategy.kind === 'dfs' && e.strategy.iterative ? '--iterative-bound' : null;
    if (phased !== null)
      throw new InputError(
        `${name}: exploration.strategy: a check of ${phased} is not split into parts; expected check --shard i/n parts (dfs, pct or random)`,
      );
  }
  const all = files.flatMap((f) => f.json.parts.map((part) => ({ part, file: f })));
  const strategy = first.exploration.strategy;
  let m: ReturnType<typeof mergeParts>;
  try {
    m = mergeParts(
      all.map((a) => a.part),
      strategy.kind === 'random' || strategy.kind === 'pct',
    );
  } catch (e) {
    if (!(e instanceof PartsOverlap)) throw e;
    const [a, b] = [all[e.a]!, all[e.b]!];
    const shardOf = (x: (typeof all)[number]) => `${x.part.part.shard.index}/${x.part.part.shard.count}`;
    if (a.file === b.file) throw new InputError(`${a.file.name}: parts ${shardOf(a)} and ${shardOf(b)} hold the same ${unitsOf(strategy)}`);
    // One file named twice on the command line: said as sweep's merge says it.
    if (a.file.name === b.file.name) throw new InputError(`${a.file.name}: given twice (each part once)`);
    const why =
      a.part.part.shard.count !== b.part.part.shard.count
        ? differentSplits(`--shard i/${a.part.part.shard.count}`, `i/${b.part.part.shard.count}`)
        : 'one part in two files?';
    throw new InputError(`${b.file.name}: part ${shardOf(b)} holds ${unitsOf(strategy)} that ${a.file.name}'s part ${shardOf(a)} holds too (${why})`);
  }
  const lead = m.first === null ? null : all[m.first]!.file;
  if (lead !== null && m.summary.stoppedBy === 'violation' && lead.json.violation === null) {
    throw new InputError(`${lead.name}: violation: expected the violation its parts stopped at, got null`);
  }
  const lost = files.reduce((n, f) => n + (f.json.statesLost ?? 0), 0);
  const json: CheckJson = {
    format: CHECK_FORMAT,
    scenario: first.scenario,
    scenarioDigest: first.scenarioDigest,
    ...(first.build !== undefined ? { build: first.build } : {}),
    settings: first.settings,
    mutant: first.mutant,
    seed: first.seed,
    summary: roundedSummary(m.summary),
    violation: lead?.json.violation ?? null,
    counterexample: lead?.json.counterexample ?? null,
    minimisation: lead?.json.minimisation ?? null,
    ...(lead?.json.replay !== undefined ? { replay: lead.json.replay } : {}),
    partial: m.partial,
    shard: null,
    exploration: first.exploration,
    ...(first.drawnChoices !== undefined ? { drawnChoices: first.drawnChoices } : {}),
    parts: mergedParts(m, strategy),
    ...(lost > 0 ? { statesLost: lost } : {}),
    // A bound that cut none in any part cut none in the whole (each part walks the top it shares with the others, and its own subtrees).
    ...(m.summary.exhausted && files.every((f) => f.json.boundCutNone === true) ? { boundCutNone: true as const } : {}),
    // The part that stopped first stopped on the model's throw: its replay is the merged run's.
    ...(lead?.json.modelBug !== undefined && m.summary.stoppedBy === 'model-bug' ? { modelBug: lead.json.modelBug } : {}),
  };
  return {
    json,
    gaps: m.gaps.map((g) => gapLine(g, unitsOf(strategy), (i) => all[i]!)),
    missing: m.gaps.some((g) => g.kind === 'missing'),
    missingShards: shardsNotGiven(files.map((f) => f.json.shard)),
    lead: lead === null ? null : files.indexOf(lead),
    cut: m.gaps.flatMap((g) => {
      if (g.kind !== 'cut') return [];
      const { part, file } = all[g.part]!;
      return [{ name: file.name, shard: `${part.part.shard.index}/${part.part.shard.count}`, stoppedBy: g.stoppedBy }];
    }),
  };
}

/**
 * The --shard i/n of a split none of `given` (each file's shard) is, when all are parts of one
 * split (one n): the first 10, then "…" for any more.
 */
function shardsNotGiven(given: readonly (Shard | null)[]): string[] {
  const n = given[0]?.count;
  if (n === undefined || given.some((s) => s === null || s.count !== n)) return [];
  const have = new Set(given.map((s) => s!.index));
  const not: string[] = [];
  for (let i = 0; i < n; i++) {
    if (have.has(i)) continue;
    if (not.length === 10) return [...not, '…'];
    not.push(`${i}/${n}`);
  }
  return not;
}

/**
 * The parts a merge records: random and pct parts that hold every execution
 * up to the last as the one part of the unsharded check (combineStriped), the
 * same for any number of shards and workers; otherwise each part cut at the
 * first violation, in shard order, as the unsharded check records its
 * workers' parts: the same file whatever the order of the files merged.
 */
function mergedParts(m: MergedParts, strategy: StrategySpec): ExplorePart[] {
  const one = strategy.kind === 'random' || strategy.kind === 'pct' ? combineStriped(m, { index: 0, count: 1 }) : null;
  if (one !== null) return [one];
  return [...m.parts].sort((a, b) => a.part.shard.count - b.part.shard.count || a.part.shard.index - b.part.shard.index);
}

/** What a strategy's units are (shard.ts): executions (random, pct), subtrees (dfs); phases run as one unit (auto, an iterative bound). */
function unitsOf(s: StrategySpec): string {
  if (s.kind === 'random' || s.kind === 'pct') return 'executions';
  return s.kind === 'dfs' && s.iterative !== true ? 'subtrees' : 'units';
}

/** A --set record as the command line had it. */
function setList(settings: Record<string, unknown>): string {
  return Object.entries(settings)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}

/** One reason a merge is partial, naming the file of a part cut short. */
function gapLine(g: MergeGap, unit: string, partOf: (i: number) => { part: ExplorePart; file: NamedCheck }): string {
  if (g.kind === 'missing') {
    if (g.units.length === 0) return `parts missing: the parts' shares of the ${unit} do not add up to the whole`;
    return `parts missing: no part holds ${unit} ${g.units.join(', ')}, …`;
  }
  const { part, file } = partOf(g.part);
  const s = part.part.shard;
  // Executions run in order; a dfs part's subtrees are taken on demand, so which of them finished is not recorded.
  const ran = unit === 'executions' ? 'did not run' : 'may not all have run';
  return `${file.name} (${unit} ≡ ${s.index} mod ${s.count}) was cut short (${g.stoppedBy}): its ${unit} from number ${g.from} on ${ran}`;
}
