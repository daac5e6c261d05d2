import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { defaultPor, type PorMode } from '../check/dfs.js';
import { grouped } from '../check/grouped.js';
import {
  AUTO_PCT,
  type BoundLevel,
  type CheckResult,
  DEFAULT_MAX_STEPS,
  formatBoundLevels,
  formatInterleaving,
  formatSummary,
  MAX_DRAW_BRANCH,
  type RetryRule,
  runLimits,
  type StrategySpec,
  ttyProgress,
} from '../check/index.js';
import { DEFAULT_MAX_STATES } from '../check/shared-state-cache.js';
import { shortestClaim } from '../check/shortest.js';
import { plural } from '../report/plural.js';
import { scenarioDigest } from '../scenario/digest.js';
import { drawnChoices } from '../scenario/drawn-choices.js';
import { InputError, inScenario } from '../scenario/input-error.js';
import { effectiveSettings } from '../scenario/instantiate.js';
import { isScenarioFile, loadScenario } from '../scenario/load.js';
import { scenarioWork } from '../scenario/scenario-work.js';
import type { Scenario } from '../scenario/schema.js';
import { buildDigest } from '../sweep/build-digest.js';
import { parseShard, type Shard } from '../sweep/grid.js';
import { partCounterexampleFile } from '../sweep/part-counterexamples.js';
import { toJson } from './atomic-write.js';
import { setsOf } from './cex-input.js';
import { writeCexOutputs } from './cex-outputs.js';
import { checkedFactoryFor, factoryFor } from './check-factory.js';
import { CHECK_FORMAT, type CheckJson, type DrawnChoices, roundedSummary } from './check-json.js';
import { checkInWorkers } from './check-workers.js';
import { parseTimeLimitSeconds, workerCount } from './limits.js';
import { modelBugJson, modelBugText } from './model-bug-replay.js';
import { cexMutantNote, idleCheckNote, warnMutantSets } from './mutant-note.js';
import { isSystemError, outputFailure, reportUnwritten, writeOutput } from './output-failure.js';
import { writeDefaultOutput } from './output-path.js';
import { applySets, parseCount, parsePositive, parseSeed, settingsOf } from './overrides.js';
import { replayCommandOf, replayLine } from './replay-line.js';
import { parseRetries, RETRIES_HELP } from './retries-option.js';
import { shellWord } from './shell-word.js';
import { warnLine } from './which-runs.js';

/** What the CLI shares with its subcommands. */
export interface CheckCommandContext {
  isInterrupted: () => boolean;
  checkMutant: (name: string | undefined) => string | null;
  exit: { ok: number; violation: number; input: number; modelBug: number; interrupted: number };
}

interface CheckFlags {
  set: string[];
  mutate?: string;
  strategy?: string;
  preemptionBound?: string;
  iterativeBound?: boolean;
  pctDepth?: string;
  maxExecutions?: string;
  maxSteps?: string;
  timeLimit?: string;
  seed?: string;
  out: string;
  json?: string;
  minimise: boolean;
  trace?: string;
  ftrace?: string;
  report?: string;
  shard?: string;
  workers: string;
  por?: string;
  retries: string;
  maxStates?: string;
  draws?: string;
}

/** Steps an execution may take per unit of its scenario's work (scenarioWork) before it is cut: ten times what they take. */
const STEPS_PER_WORK = 100;

/**
 * The --max-steps of a check given none: DEFAULT_MAX_STEPS, or more for a
 * scenario sized up (--set faultsPerVcpu=6000) whose executions need more, so
 * that a long but live execution is not cut and called a livelock (a probe).
 * Undefined when it is the default.
 */
function defaultMaxSteps(s: Scenario): number | undefined {
  const steps = STEPS_PER_WORK * scenarioWork(s);
  return steps > DEFAULT_MAX_STEPS ? steps : undefined;
}

/** Most worker threads a check may ask for. */
const MAX_WORKERS = 256;

/** Most states --max-states may ask room for: 2^26, a table of 1 GiB. */
const MAX_STATES = 2 ** 26;

/**
 * The preemption bound of a check given no strategy nor bound: CHESS's
 * default, deep enough for every mutant (each is found with at most 2), and a
 * verdict in seconds on the small check scenarios at their sizes (minutes for
 * memslot-delete-mini).
 */
export const DEFAULT_CHECK_BOUND = 2;

/**
 * The strategy a check runs when --strategy is not given. An option that only
 * one strategy reads picks it (--preemption-bound, --iterative-bound, --por,
 * --shard: dfs, as before auto was the default; --pct-depth: pct). Otherwise
 * auto: PCT finds shallow bugs in milliseconds, then every interleaving with at
 * most DEFAULT_CHECK_BOUND preemptions is run, bound by bound, so that a bare
 * `mmulab check <scenario>` ends with a verdict (unbounded dfs finishes only the
 * smallest worlds).
 */
function strategyName(o: CheckFlags): string {
  if (o.strategy !== undefined) return o.strategy;
  if (o.preemptionBound !== undefined || o.iterativeBound || o.por !== undefined || o.shard !== undefined) return 'dfs';
  if (o.pctDepth !== undefined) return 'pct';
  return 'auto';
}

function strategySpec(o: CheckFlags): StrategySpec {
  const bound = o.preemptionBound !== undefined ? parseCount('--preemption-bound', o.preemptionBound, 1000) : undefined;
  const name = strategyName(o);
  if (o.iterativeBound && name !== 'dfs') throw new InputError(`--iterative-bound: expected --strategy dfs, not ${name}`);
  if (o.por !== undefined && name !== 'dfs') throw new InputError(`--por: expected --strategy dfs, not ${name}`);
  const draws = drawMode(o, name);
  if (o.pctDepth !== undefined && name !== 'pct') throw new InputError(`--pct-depth: expected --strategy pct, not ${name}`);
  if (o.maxStates !== undefined && name !== 'dfs' && name !== 'auto') throw new InputError(`--max-states: expected --strategy dfs or auto, not ${name}`);
  // pct and random take no bound: it would be ignored (pct's depth is its own).
  if (bound !== undefined && (name === 'pct' || name === 'random')) throw new InputError(`--preemption-bound: expected --strategy dfs or auto, not ${name}`);
  const room = o.maxStates !== undefined ? { maxStates: parsePositive('--max-states', o.maxStates, MAX_STATES) } : {};
  switch (name) {
    case 'dfs': {
      // --shard alone picks dfs: with the bound a bare check ends with, so that the parts, merged, give its verdict.
      const dfsBound = bound ?? (o.strategy === undefined && o.shard !== undefined && !o.iterativeBound ? DEFAULT_CHECK_BOUND : undefined);
      const por = porMode(o, dfsBound);
      // Only explored states use the table: DPOR (the default without a bound) has none.
      if (o.maxStates !== undefined && (por ?? defaultPor({ preemptionBound: o.iterativeBound ? 0 : dfsBound })) !== 'states') {
        throw new InputError(`--max-states: expected --por states (a preemption bound, or --iterative-bound), not dpor, which keeps no table of states`);
      }
      const spec: StrategySpec = o.iterativeBound
        ? { kind: 'dfs', iterative: true, preemptionBound: dfsBound, ...room, ...draws }
        : { kind: 'dfs', preemptionBound: dfsBound, ...room, ...draws };
      return por === undefined ? spec : { ...spec, por };
    }
    case 'auto':
      return { kind: 'auto', preemptionBound: bound ?? (o.strategy === undefined ? DEFAULT_CHECK_BOUND : undefined), ...room, ...draws };
    case 'pct': {
      const depth = o.pctDepth !== undefined ? parseCount('--pct-depth', o.pctDepth, 100) : undefined;
      if (depth === 0) throw new InputError('--pct-depth 0: expected at least 1 (d-1 priority change points)');
      return { kind: 'pct', depth };
    }
    case 'random':
      return { kind: 'random' };
    default:
      throw new InputError(`--strategy ${name}: expected one of auto, dfs, pct, random`);
  }
}

/** What --draws asks of a search that branches (nothing: the default, seeded, which the spec leaves out). */
function drawMode(o: CheckFlags, name: string): { draws?: 'explore' } {
  if (o.draws === undefined || o.draws === 'seeded') return {};
  if (o.draws !== 'explore') throw new InputError(`--draws ${o.draws}: expected seeded or explore`);
  if (name !== 'dfs' && name !== 'auto') throw new InputError(`--draws explore: expected --strategy dfs or auto, not ${name} (which draws from --seed)`);
  return { draws: 'explore' };
}

/** The dfs reduction --por asks for (undefined: defaultPor's choice). */
function porMode(o: CheckFlags, bound: number | undefined): 'dpor' | 'states' | undefined {
  if (o.por === undefined) return undefined;
  if (o.por !== 'dpor' && o.por !== 'states') throw new InputError(`--por ${o.por}: expected dpor or states`);
  if (o.por === 'states' && bound === undefined && !o.iterativeBound) {
    throw new InputError('--por states: expected --preemption-bound or --iterative-bound (without a bound, states are too many: dpor)');
  }
  return o.por;
}

/** What a full table of explored states did to the search, and what makes room. */
export function fullTableLine(lost: number, strategy: StrategySpec): string {
  const room = (strategy.kind === 'dfs' || strategy.kind === 'auto' ? strategy.maxStates : undefined) ?? DEFAULT_MAX_STATES;
  // Room for what it held and what it lost (a power of two, at least twice as much): twice a table of 1 is no help for 770 lost.
  const suggested = Math.max(2 * room, 2 ** Math.ceil(Math.log2(room + lost)));
  return (
    `the table of explored states was full: ${lost} states were explored again (sound, but the figures may then differ ` +
    `with the number of workers); --max-states ${suggested} makes room for them`
  );
}

/** What a dfs with at most `n` preemptions and reduction `por` covers once exhausted. */
function boundedCoverage(n: number, por: PorMode): string {
  const within = `at most ${plural(n, 'preemption')}`;
  if (por !== 'dpor') return `every interleaving with ${within} was run`;
  // Bounded DPOR is not complete for its bound: README, "Coverage of a preemption bound".
  return `dfs (DPOR) with ${within} was exhausted (most, not all, interleavings within that bound: see the README's coverage note; --por states runs them all)`;
}

/** What a search within preemption bounds covered when the last bound it ran kept no thread from running. */
const WHOLE_SPACE = 'every interleaving was run (the last bound cut none: that is the whole space)';

/**
 * The line that says what an exhausted exploration covered, without iterative
 * levels (mmulab merge says it too). `boundCutNone`: the bound of a dfs with
 * explored states kept no thread from running (CheckJson.boundCutNone), so
 * the space it ran is the whole space, as auto says of a level that cut none.
 */
export function exhaustedLine(strategy: StrategySpec, boundCutNone = false): string {
  if (strategy.kind !== 'dfs' || strategy.preemptionBound === undefined) return 'no violation: the space was exhausted';
  if (boundCutNone) return `no violation: ${WHOLE_SPACE}`;
  return `no violation: ${boundedCoverage(strategy.preemptionBound, defaultPor(strategy))}`;
}

/**
 * Whether `r`, a check with `strategy`, is a dfs with a preemption bound and
 * explored states (the default with a bound, and --shard's) that ran its
 * whole bounded space, the bound keeping no thread from running in any
 * execution (CheckJson.boundCutNone). Not bounded DPOR (--por dpor), whose
 * workers share out branches that do not count what their bound cut.
 */
function cutNone(strategy: StrategySpec, r: Pick<CheckResult, 'summary' | 'boundCut'>): boolean {
  if (strategy.kind !== 'dfs' || strategy.preemptionBound === undefined || strategy.iterative === true) return false;
  return defaultPor(strategy) === 'states' && r.summary.exhausted && r.boundCut === false;
}

/** What the levels of an iterative preemption bound covered, in one line; whether that is the whole space, and whether it is anything. */
function coverage(
  levels: readonly BoundLevel[],
  exhausted: boolean,
  maxBound: number | undefined,
  por: PorMode | undefined,
): { line: string; whole: boolean; none?: true } {
  const last = levels[levels.length - 1]!;
  if (exhausted && last.preemptionBound === null) return { line: 'every interleaving was run (the whole space, exhausted without a bound)', whole: true };
  if (exhausted && last.preemptionBound !== maxBound) return { line: WHOLE_SPACE, whole: true };
  const covered = levels.filter((l) => l.exhausted && l.preemptionBound !== null).pop();
  if (covered === undefined) return { line: 'no preemption bound was exhausted', whole: false, none: true };
  const n = covered.preemptionBound!;
  return { line: boundedCoverage(n, defaultPor({ por, preemptionBound: n })), whole: false };
}

/**
 * The caveat of a verdict when executions were cut at --max-steps with nothing
 * awaited (truncated, not a livelock): what lies past the cut was not run.
 */
function truncatedNote(truncated: number, maxSteps: number): string {
  const n = `${truncated.toLocaleString('en-US')} execution${truncated === 1 ? ' was' : 's were'}`;
  return `(but ${n} cut at --max-steps ${maxSteps} with nothing awaited: the verdict covers their first ${maxSteps} steps only; a larger --max-steps runs the rest)\n`;
}

/** What an exhausted search's interleavings are, as to retries (see RetryRule); mmulab merge says it too. */
export function retriesNote(retries: RetryRule): string {
  if (retries === 'interleaved') return '';
  return '(a retry after a failed attempt ran once the other threads were done or waiting: --retries interleaved also runs it at any point)\n';
}

/**
 * What an exhausted search's interleavings are, as to the model's own random
 * choices (drawnChoices). By default a systematic search does not branch on
 * them: each execution draws what the seed draws, so the verdict covers that
 * draw only. With --draws explore it branches on every draw of at most
 * MAX_DRAW_BRANCH values and takes only the larger ones from the seed. Empty
 * when the model draws nothing. (mmulab merge does not say it: a part records
 * its --set list, not the sizes its scenario was run at.)
 */
/** The model's own random choices of a check (CheckJson.drawnChoices): all of them, and those left to the seed. */
function drawnChoicesOf(scenario: Scenario, strategy: StrategySpec): DrawnChoices {
  const all = drawnChoices(scenario);
  const explored = (strategy.kind === 'dfs' || strategy.kind === 'auto') && strategy.draws === 'explore';
  return { all, seeded: explored ? drawnChoices(scenario, MAX_DRAW_BRANCH) : all };
}

/**
 * The verdict line's own word on the draws when it covers the seed's only (the
 * note below it says which): a probe read a bounded "no violation" past the
 * note, where another strategy's draws had found the violation.
 */
function seededDraws(d: DrawnChoices, seed: number): string {
  return d.seeded.length > 0 ? `, with the random choices of --seed ${seed} (below)` : '';
}

/** What an exhausted verdict says of the model's own random choices: branched on, or those of the seed. */
export function drawsNote(d: DrawnChoices, seed: number, strategy: StrategySpec): string {
  if (d.all.length === 0) return '';
  if (d.seeded.length === 0) return `(the model's own random choices, ${d.all.join('; ')}, were branched on: every value of each was run)\n`;
  const explored = (strategy.kind === 'dfs' || strategy.kind === 'auto') && strategy.draws === 'explore';
  const other = seed === 1 ? 2 : 1;
  const which = explored ? `random choices over more than ${MAX_DRAW_BRANCH} values` : 'random choices';
  const rest = explored ? '; the smaller ones were branched on' : '; --draws explore branches on them';
  return `(the model's own ${which}, ${d.seeded.join('; ')}, were those of --seed ${seed} in every execution: the verdict covers that draw of them${rest}; --seed ${other} draws others)\n`;
}

export function registerCheckCommands(p: Command, ctx: CheckCommandContext): void {
  p.command('check')
    .description('explore interleavings of a (small) scenario; on a violation write a minimal, replayable counterexample')
    .argument('<scenario>', 'built-in scenario name or file')
    .option('--set <key=value>', 'override a setting or size knob (repeatable)', (v: string, prev: string[]) => [...prev, v], [])
    .option('--mutate <name>', 'apply a named protocol deviation')
    .option(
      '--strategy <name>',
      `auto | dfs | pct | random (default: auto, PCT then every interleaving with at most ${DEFAULT_CHECK_BOUND} preemptions, bound by bound; dfs when --preemption-bound, --iterative-bound, --por or --shard is given, --shard alone with the bound ${DEFAULT_CHECK_BOUND}, pct with --pct-depth)`,
    )
    .option('--preemption-bound <n>', 'dfs: most preemptions per execution')
    .option(
      '--iterative-bound',
      'dfs: preemption bound 0, then 1, 2, … each exhausted in turn (up to --preemption-bound); with --workers, each level on the workers',
    )
    .option(
      '--por <mode>',
      'dfs reduction: states (the default with a preemption bound: every interleaving within it, a state explored once) or dpor (the default without one: only races are reordered)',
    )
    .option(
      '--draws <mode>',
      `dfs, auto: the model's own random choices (which gfn an access touches, whether it writes, where an invalidation falls): seeded (the default: those --seed draws, the same in every execution) or explore (every value of each draw of at most ${MAX_DRAW_BRANCH}, as a branch point)`,
    )
    .option('--pct-depth <n>', 'pct: bug depth d (default 3)')
    .option('--max-executions <n>', 'stop after this many executions')
    .option('--max-steps <n>', 'steps after which an execution is cut (a livelock if work is pending)')
    .option('--retries <rule>', RETRIES_HELP, 'deferred')
    .option(
      '--max-states <n>',
      `dfs with explored states: room for this many in the table (16 bytes each; default ${DEFAULT_MAX_STATES}, 64 MiB); a full table explores states again, and says so`,
    )
    .option('--time-limit <s>', 'wall-clock budget in seconds')
    .option('--seed <n>', "seed of the random strategies and the model's draws", '1')
    .option('--out <file>', 'where to write the counterexample', 'cex.json')
    .option('--json <file>', 'write the exploration summary as JSON (partial when interrupted or stopped at --time-limit)')
    .option('--no-minimise', 'report the counterexample as found')
    .option('--trace <file>', 'Perfetto trace of the counterexample')
    .option('--ftrace <file>', 'ftrace-style log of the counterexample')
    .option('--report <file>', 'HTML page with the counterexample as swimlanes')
    .option('--shard <i/n>', 'explore only part i of n (0 <= i < n); mmulab merge puts the parts together')
    .option(
      '--workers <k>',
      "explore on k worker threads (dfs with a preemption bound: the subtrees of the tree's top, sharing one table of explored states, the same result as 1 worker; dfs without: the branches of the top; with --shard: its subtrees; random, pct: every k-th execution; --iterative-bound, auto: each level, each phase, on the workers; dfs with --max-executions: one worker, as the budget is spent in one DFS's order), merged here",
      '1',
    )
    .action(async (ref: string, o: CheckFlags, command: Command) => {
      const mutant = ctx.checkMutant(o.mutate);
      const base = loadScenario(ref);
      checkedFactoryFor(ref, o.set, mutant, base); // bad input fails here, before any worker starts
      warnMutantSets(mutant, base, o.set);
      // The scenario as checked: resized by the size --sets.
      const applied = applySets(base, o.set);
      const checked = applied.scenario;
      const settings = settingsOf(o.set);
      const seed = parseSeed(o.seed ?? '1');
      // As run and compare take it: seconds, fractions allowed.
      const timeLimit = o.timeLimit !== undefined ? parseTimeLimitSeconds(o.timeLimit) * 1000 : undefined;
      const shard = o.shard !== undefined ? parseShard(o.shard) : null;
      const { workers, warning: workersWarning } = workerCount(parsePositive('--workers', o.workers, MAX_WORKERS));
      const strategy = strategySpec(o);
      const drawn = drawnChoicesOf(checked, strategy);
      // auto and the iterative bound run phases in turn: never as --shard parts.
      // On --workers each phase runs on them (check-phases.ts), unless the levels use DPOR.
      const unsplit = (flag: string, what: string, expected: string) => new InputError(`${flag}: ${what} cannot be split into parts; expected ${expected}`);
      if (shard !== null && strategy.kind === 'auto') throw unsplit(`--shard ${o.shard}`, '--strategy auto', '--strategy dfs, pct or random');
      if (shard !== null && o.iterativeBound) throw unsplit(`--shard ${o.shard}`, '--iterative-bound', 'a fixed --preemption-bound');
      if (workers > 1 && o.iterativeBound && o.por === 'dpor') {
        throw unsplit(`--workers ${o.workers}`, '--iterative-bound with --por dpor', '--por states (the default) or a fixed --preemption-bound');
      }
      const maxExecutions = o.maxExecutions !== undefined ? parsePositive('--max-executions', o.maxExecutions) : undefined;
      const maxSteps = o.maxSteps !== undefined ? parsePositive('--max-steps', o.maxSteps) : defaultMaxSteps(checked);
      const retries = parseRetries(o.retries);
      // (Once the input is known good: a refusal stays one line.)
      warnLine(workersWarning);
      const tty = ttyProgress(process.stderr);
      // A sampling search has no end of its own: said, where no progress bar shows it running (a script, a batch job).
      if ((strategy.kind === 'random' || strategy.kind === 'pct') && maxExecutions === undefined && timeLimit === undefined && tty === null) {
        process.stderr.write(
          `mmulab: note: ${strategy.kind} runs until a violation or SIGINT (or, in a world of one interleaving, after it): no --max-executions or --time-limit given\n`,
        );
      }
      // The exploration runs on worker threads so that SIGINT is seen while it runs.
      const { result: r, parts } = await checkInWorkers(
        {
          kind: 'check',
          ref,
          sets: o.set,
          mutant,
          options: {
            strategy,
            seed,
            origin: { scenario: ref, ...(isScenarioFile(ref) ? { scenarioText: readFileSync(ref, 'utf8') } : {}), settings, mutant },
            minimise: o.minimise,
            maxExecutions,
            maxSteps,
            retries,
            timeLimitMs: timeLimit,
          },
        },
        shard,
        workers,
        ctx.isInterrupted,
        tty ? (p) => tty.update(p) : undefined,
      ).catch((e: unknown) => {
        tty?.end();
        // Bad input an execution ran into (a scenario too small for what it maps): located in the file, as run does.
        throw inScenario(ref, e);
      });
      tty?.end();
      const interrupted = r.summary.stoppedBy === 'interrupted';
      // Stopped by the clock, not by what was asked (the space, --max-executions): not all of it was explored.
      const partial = interrupted || r.summary.stoppedBy === 'time-limit';
      // Outputs the system refuses now (a folder removed during the search, a full disk) are said
      // after the results, which are printed anyway; the other outputs are still written.
      const unwritten: string[] = [];
      // A counterexample, once found, is written before anything else.
      // (--out given was checked before the search; the default is written where it can be.)
      // Where it was written: null when none was found, or it could not be written.
      let cexFile: string | null = null;
      if (r.counterexample !== null) {
        // A part's records which part found it, and when, for merge (partCounterexampleFile).
        const text = toJson(partCounterexampleFile(r.counterexample, shard, r.summary.violationExecution));
        if (command.getOptionValueSource('out') === 'default') {
          try {
            cexFile = writeDefaultOutput(o.out, text);
          } catch (e) {
            // Neither here nor in the temporary folder.
            if (!isSystemError(e)) throw e;
            unwritten.push(outputFailure('--out', o.out, e));
          }
        } else {
          const failed = writeOutput('--out', o.out, text);
          if (failed === null) cexFile = o.out;
          else unwritten.push(failed);
        }
      }
      // A model bug has no counterexample file: its replay line (the check's world and limits) is how it is reproduced.
      const bug = r.modelBug !== null ? modelBugJson(r.modelBug, { scenario: ref, settings, mutant, limits: runLimits({ maxSteps, retries }) }) : null;
      // The counterexample's replay without its file, as printed below: for a merge of parts run elsewhere.
      const cexReplay = r.counterexample !== null ? replayCommandOf(r.counterexample) : null;
      if (o.json) {
        const out: CheckJson = {
          format: CHECK_FORMAT,
          scenario: ref,
          scenarioDigest: scenarioDigest(checked),
          build: buildDigest(),
          settings,
          mutant,
          seed,
          summary: roundedSummary(r.summary),
          // As printed and as the counterexample holds it: minimised (the one found is minimisation.original's).
          violation: r.counterexample?.violation ?? r.violation,
          counterexample: cexFile,
          minimisation: r.minimisation,
          ...(cexReplay !== null ? { replay: cexReplay } : {}),
          partial,
          shard,
          exploration: { strategy, maxExecutions: maxExecutions ?? null, maxSteps: maxSteps ?? null, retries },
          ...(drawn.all.length > 0 ? { drawnChoices: drawn } : {}),
          parts: parts.map((p) => ({ ...p, summary: roundedSummary(p.summary) })),
          ...(r.statesLost !== undefined ? { statesLost: r.statesLost } : {}),
          ...(cutNone(strategy, r) ? { boundCutNone: true as const } : {}),
          ...(bug !== null ? { modelBug: bug } : {}),
        };
        const failed = writeOutput('--json', o.json, toJson(out));
        if (failed !== null) unwritten.push(failed);
      }
      // A part with nothing to explore (more parts than the tree's top has subtrees): one line, not a verdict of 0 executions; its JSON is written all the same, for merge.
      if (shard !== null && shard.count > 1 && r.summary.executions === 0 && r.summary.exhausted && r.counterexample === null && r.modelBug === null) {
        process.stdout.write(`shard ${shard.index}/${shard.count} holds no ${strategy.kind === 'dfs' ? 'subtree' : 'execution'} of this world\n`);
        process.exitCode = reportUnwritten(unwritten) ? ctx.exit.input : ctx.exit.ok;
        return;
      }
      const where = shard !== null ? ` (shard ${shard.index}/${shard.count})` : '';
      // A part's bound that cut none says nothing of the others' parts: its verdict stays within its bound (merge says the whole's).
      const whole = shard === null || shard.count === 1;
      // auto's figures are of both its phases (the lines below split them): its summary is named auto, not by its last phase.
      const shown = strategy.kind === 'auto' ? { ...r.summary, strategy: 'auto' } : r.summary;
      process.stdout.write(`${formatSummary(shown)}${where}\n`);
      if (r.statesLost !== undefined) process.stderr.write(`mmulab: warning: ${fullTableLine(r.statesLost, strategy)}\n`);
      const levels = r.summary.preemptionBounds;
      if (levels !== undefined) {
        // auto's first phase, PCT, ran the executions the levels did not.
        const pct = strategy.kind === 'auto' ? r.summary.executions - levels.reduce((n, l) => n + l.executions, 0) : 0;
        // Fewer than its share, with the levels run after it: PCT stopped on its own, the world having one execution (pct.ts).
        const only = strategy.kind === 'auto' && pct < (strategy.pctExecutions ?? AUTO_PCT.executions);
        if (pct > 0 && only)
          process.stdout.write(
            `pct (depth ${AUTO_PCT.depth}): ${grouped(pct)} execution, no violation (the only one: no two threads to choose from, no draw)\n`,
          );
        else if (pct > 0) process.stdout.write(`pct (depth ${AUTO_PCT.depth}): ${grouped(pct)} executions, no violation\n`);
        process.stdout.write(`${formatBoundLevels(levels)}\n`);
      }
      if (r.modelBug !== null && bug !== null) {
        reportUnwritten(unwritten);
        process.stderr.write(modelBugText(bug, r.modelBug.schedule.choices.length));
        process.exitCode = ctx.exit.modelBug;
        return;
      }
      if (r.counterexample === null) {
        if (levels !== undefined) {
          const dfsLike = strategy.kind === 'dfs' || strategy.kind === 'auto';
          const covered = coverage(levels, r.summary.exhausted, dfsLike ? strategy.preemptionBound : undefined, dfsLike ? strategy.por : undefined);
          const seeded = covered.none ? '' : seededDraws(drawn, seed);
          process.stdout.write(`${interrupted ? 'interrupted: no violation found so far' : 'no violation'}: ${covered.line}${seeded}\n`);
          if (!covered.none) process.stdout.write(retriesNote(retries) + drawsNote(drawn, seed, strategy));
          if (strategy.kind === 'auto' && o.strategy === undefined && o.preemptionBound === undefined && !covered.whole && !interrupted) {
            process.stdout.write(
              `(the default bound, ${DEFAULT_CHECK_BOUND}: --preemption-bound N runs every interleaving with at most N; ` +
                '--strategy dfs, the whole space, which only the smallest worlds finish)\n',
            );
          }
        } else {
          process.stdout.write(
            r.summary.exhausted
              ? `${inPart(exhaustedLine(strategy, whole && cutNone(strategy, r)), shard)}${seededDraws(drawn, seed)}\n`
              : interrupted
                ? 'interrupted: no violation found so far\n'
                : 'no violation found\n',
          );
          if (r.summary.exhausted) process.stdout.write(retriesNote(retries) + drawsNote(drawn, seed, strategy));
        }
        if (r.summary.truncated > 0) process.stdout.write(truncatedNote(r.summary.truncated, maxSteps ?? DEFAULT_MAX_STEPS));
        if (levels === undefined && !r.summary.exhausted && strategy.kind === 'dfs' && strategy.preemptionBound === undefined) {
          // Retry loops make the unbounded space of all but the smallest worlds too big to finish.
          process.stdout.write(
            'the unbounded space was not exhausted: --preemption-bound 1 (or 2) bounds it, as CHESS does, and can finish; --iterative-bound runs bound 0, 1, 2, … in turn; ' +
              `mmulab audit ${ref} shows which races the space grows with\n`,
          );
        }
        // Its mutant never acted: the verdict is the kernel protocol's, whatever the mutant would have done.
        warnLine(idleCheckNote(mutant, r.summary, base.name ?? ref, effectiveSettings(checked, applied.settings), checked));
        // They show a counterexample: with none there is nothing to write (a file of an earlier run is left as it was).
        const asked = (['trace', 'ftrace', 'report'] as const).filter((k) => o[k] !== undefined).map((k) => `--${k} ${o[k]}`);
        if (asked.length > 0) process.stderr.write(`mmulab: no counterexample, so ${asked.join(', ')} not written\n`);
        const failed = reportUnwritten(unwritten);
        process.exitCode = interrupted ? ctx.exit.interrupted : failed ? ctx.exit.input : ctx.exit.ok;
        return;
      }
      const cex = r.counterexample;
      if (r.minimisation) process.stdout.write(`${minimisedLine(r.minimisation, r.counterexample.steps.length)}\n`);
      process.stdout.write(`${formatInterleaving(cex)}\n\n`);
      // Whether the mutant acted in the counterexample's execution: if not, the violation is the protocol's own.
      const acted = cexMutantNote(cex, cexFile !== null ? `mmulab replay ${shellWord(cexFile)}` : null);
      if (acted !== null && 'line' in acted) process.stdout.write(`${acted.line}\n`);
      else if (acted !== null) warnLine(acted.warning);

      const line = replayLine(cex);
      // The replay the page shows: the line without a file, else the file, else (not written) the line that names a scenario file.
      let pageReplay: string | null;
      if (cexFile !== null) {
        process.stdout.write(`counterexample written to ${cexFile}; replay it with:\n  mmulab replay ${shellWord(cexFile)}\n`);
        if (line !== null) process.stdout.write(`or, without the file (for a commit message or a mail):\n  ${line}\n`);
        pageReplay = line ?? `mmulab replay ${shellWord(cexFile)}`;
      } else {
        // No file to point to (why is said below): only a line that needs none, or needs only the scenario file.
        pageReplay = line ?? replayCommandOf(cex);
        process.stdout.write(
          pageReplay !== null
            ? `counterexample not written; replay it with:\n  ${pageReplay}\n`
            : 'counterexample not written; its limits are not ones a command line sets, so only its file would have replayed it\n',
        );
      }
      writeCexOutputs(
        (sinks) => factoryFor(ref, setsOf(cex), cex.mutant, sinks),
        cex,
        o,
        pageReplay,
        (l) => unwritten.push(l),
      );
      // As run's: an output not written gives 2, the violation found notwithstanding (it is printed above), so that
      // a script that takes 1 to mean "a violation, its files written" never reads a file that is not there.
      // A model bug returned above; an interrupt once the violation was found leaves it found (1, as before).
      process.exitCode = reportUnwritten(unwritten) ? ctx.exit.input : ctx.exit.violation;
    });
}

/** An exhausted verdict of one --shard part: what it covers is its own subtrees, not the whole space. */
function inPart(line: string, shard: Shard | null): string {
  if (shard === null || shard.count === 1) return line;
  return line.replace(/^no violation: /, `no violation in shard ${shard.index}/${shard.count} (its part only; mmulab merge of every part gives the whole): `);
}

/** What minimisation did, on one line: the sizes before and after, and how far the search for a shortest one got. */
/** The minimisation in one line; `events`: the lines the interleaving prints, which are events, not scheduler steps. */
export function minimisedLine(m: NonNullable<CheckResult['minimisation']>, events?: number): string {
  const printed = events === undefined ? '' : ` (${plural(events, 'event')} printed)`;
  let line = `minimised: ${m.original.steps} → ${m.size.steps} scheduler steps${printed}, ${m.original.preemptions} → ${plural(m.size.preemptions, 'preemption')}`;
  if (m.search !== null) {
    const ran = `${m.search.executions.toLocaleString('en-US')} execution${m.search.executions === 1 ? '' : 's'} searched`;
    line += m.search.complete
      ? `; ${shortestClaim(m.size.preemptions)} (${ran})`
      : `; maybe not the shortest (${ran}${m.cutShort === undefined ? ", the search's budget" : ''})`;
  }
  if (m.cutShort === 'time-limit') line += '; cut short at --time-limit';
  if (m.cutShort === 'interrupted') line += '; cut short by SIGINT';
  return line;
}
