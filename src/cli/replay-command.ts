import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import {
  type Counterexample,
  counterexampleOfRun,
  DEFAULT_MAX_STEPS,
  decodeSchedule,
  formatInterleaving,
  type InstanceFactory,
  loggedSteps,
  numberedSteps,
  ReplayDivergence,
  ReplayStrategy,
  runLimits,
  runOnce,
  ScheduleRanOut,
} from '../check/index.js';
import type { Sink } from '../kvm/events.js';
import type { Instance } from '../runtime/instance.js';
import type { Schedule } from '../runtime/schedule.js';
import { InputError, inScenario } from '../scenario/input-error.js';
import { builtinNames, loadScenario } from '../scenario/load.js';
import { toJson } from './atomic-write.js';
import { readCounterexample, scenarioGivenAsCounterexample } from './cex-input.js';
import { writeCexOutputs } from './cex-outputs.js';
import type { CheckCommandContext } from './check-command.js';
import { checkedFactoryFor, factoryForScenario } from './check-factory.js';
import { writeHeldOutputs } from './held-outputs.js';
import { replayedModelBug } from './model-bug-replay.js';
import { warnMutantSets } from './mutant-note.js';
import { reportUnwritten, writeOutput } from './output-failure.js';
import { parsePositive, settingsOf } from './overrides.js';
import { replayCommandOf, replayLine } from './replay-line.js';
import { parseRetries } from './retries-option.js';
import { shellWord } from './shell-word.js';

interface ReplayFlags {
  schedule?: string;
  set: string[];
  mutate?: string;
  withoutMutant?: boolean;
  maxSteps?: string;
  retries?: string;
  json?: string;
  trace?: string;
  ftrace?: string;
  report?: string;
}

/** What a replay runs: the schedule, on what model, and the counterexample it was (when read from a file). */
interface ReplayInput {
  /** How the schedule was given, for errors: the file, or --schedule. */
  source: string;
  factory(sinks?: () => Sink[]): InstanceFactory;
  origin: Pick<Counterexample, 'scenario' | 'scenarioText' | 'settings' | 'mutant' | 'seed' | 'strategy' | 'limits'>;
  schedule: Schedule;
  /** The counterexample read, or null for --schedule (nothing to compare with). */
  cex: Counterexample | null;
  /** --without-mutant: the mutant left out (the file's, or --mutate's); else null. */
  leftOut: string | null;
}

/** The replay the line check prints asks for: the scenario, its options and the encoded schedule. */
function fromLine(ref: string, o: ReplayFlags, ctx: Pick<CheckCommandContext, 'checkMutant'>): ReplayInput {
  // --without-mutant on the line as printed: its --mutate is still checked, then left out.
  const named = ctx.checkMutant(o.mutate);
  const mutant = o.withoutMutant ? null : named;
  const base = loadScenario(ref);
  checkedFactoryFor(ref, o.set, mutant, base);
  warnMutantSets(mutant, base, o.set);
  const factory = (sinks?: () => Sink[]) => factoryForScenario(base, ref, o.set, mutant, sinks);
  const maxSteps = o.maxSteps !== undefined ? parsePositive('--max-steps', o.maxSteps) : DEFAULT_MAX_STEPS;
  let schedule: Schedule;
  try {
    schedule = decodeSchedule(o.schedule!, maxSteps);
  } catch (e) {
    // The default bound is named only when it is what refused the schedule.
    const message = (e as Error).message;
    const bound = o.maxSteps === undefined && message.includes('more than can run') ? ` (--max-steps ${maxSteps})` : '';
    throw new InputError(`--schedule: ${message}${bound}`);
  }
  const limits = runLimits({ maxSteps, retries: parseRetries(o.retries ?? 'deferred') });
  const origin = { scenario: ref, settings: settingsOf(o.set), mutant, seed: 0, strategy: 'replay', limits };
  return { source: '--schedule', factory, origin, schedule, cex: null, leftOut: o.withoutMutant ? named : null };
}

/** Refuses the options that only the --schedule form reads. */
function fileForm(file: string, o: ReplayFlags): ReplayInput {
  for (const [flag, given] of [
    ['--set', o.set.length > 0],
    ['--mutate', o.mutate !== undefined],
    ['--max-steps', o.maxSteps !== undefined],
    ['--retries', o.retries !== undefined],
  ] as const) {
    if (given) throw new InputError(`${flag}: only with --schedule (a counterexample file records it)`);
  }
  // A built-in scenario's name with no file of that name: the line check prints was meant, which needs its schedule.
  if (!existsSync(file) && builtinNames().includes(file)) {
    throw new InputError(
      `${file}: a built-in scenario, not a counterexample file: expected --schedule S with it (the replay line check prints), or a file check wrote (--out)`,
    );
  }
  let input: ReturnType<typeof readCounterexample>;
  try {
    input = readCounterexample(file, o.withoutMutant === true);
  } catch (e) {
    // A scenario file where the counterexample goes: what replay takes, not the JSON reader's complaint.
    const scenario = e instanceof InputError ? scenarioGivenAsCounterexample(file) : null;
    throw scenario === null ? e : new InputError(scenario);
  }
  const cex = input.cex;
  return { source: file, factory: input.factory, origin: cex, schedule: cex.schedule, cex, leftOut: input.leftOut };
}

/**
 * Where a replay left its schedule, for the line after the interleaving: the
 * scheduler's step named as such ("the schedule's next step (scheduler step 26)
 * runs vCPU0, which is spinning without progress"), since the lines number events.
 */
function divergedAt(message: string): string {
  const m = /^replay: step (\d+) (.*)$/s.exec(message);
  return m === null ? message.replace(/^replay: /, '') : `the schedule's next step (scheduler step ${m[1]}) ${m[2]}`;
}

export function registerReplayCommand(p: Command, ctx: CheckCommandContext): void {
  p.command('replay')
    .description('re-run a counterexample deterministically and print its interleaving: from its file, or from the line check prints (--schedule)')
    .argument('<cex>', 'counterexample JSON written by check; with --schedule, the scenario')
    .option('--schedule <string>', 'the encoded schedule of the line check prints: the argument is then the scenario')
    .option('--set <key=value>', 'with --schedule: a setting or size knob (repeatable)', (v: string, prev: string[]) => [...prev, v], [])
    .option('--mutate <name>', 'with --schedule: the mutant')
    .option('--without-mutant', "replay on the kernel's protocol, the mutant left out: does the fix hold on this interleaving?")
    .option('--max-steps <n>', `with --schedule: the check's --max-steps (default ${DEFAULT_MAX_STEPS})`)
    .option('--retries <rule>', "with --schedule: the check's --retries (default deferred)")
    .option('--json <file>', 'write the replayed counterexample as JSON')
    .option('--trace <file>', 'Perfetto trace of the replay')
    .option('--ftrace <file>', 'ftrace-style log of the replay')
    .option('--report <file>', 'HTML page with the interleaving as swimlanes')
    .action((arg: string, o: ReplayFlags) => {
      const input = o.schedule !== undefined ? fromLine(arg, o, ctx) : fileForm(arg, o);
      const made = input.factory();
      // The instance the replay runs, kept: a replay --without-mutant that leaves the schedule prints what it ran.
      let instance: Instance | undefined;
      const factory: InstanceFactory = (options) => {
        instance = made(options);
        return instance;
      };
      // A replay with nothing to write (no violation, or the model threw): what it says, the outputs asked for and not written, the exit code.
      const ended = (stdout: string, why: string, code: number): void => {
        process.stdout.write(stdout);
        const unwritten = (['json', 'trace', 'ftrace', 'report'] as const).filter((k) => o[k] !== undefined).map((k) => `--${k} ${o[k]}`);
        if (unwritten.length > 0) process.stderr.write(`mmulab: ${why}, so ${unwritten.join(', ')} not written\n`);
        process.exitCode = code;
      };
      let replayed: Counterexample;
      try {
        // A counterexample whose file was edited (a fixed vCPU's steps added, its mutant taken away) may run to its end.
        const run = runOnce(factory, new ReplayStrategy(input.schedule), input.origin.limits, true);
        if (run.outcome === 'model-bug') {
          // The line check printed for a model bug (or a model changed under a counterexample): the throw again, exit 3.
          const said = replayedModelBug(run);
          process.stderr.write(said.stderr);
          ended(said.stdout, 'the model threw', ctx.exit.modelBug);
          return;
        }
        if (run.violation === null) {
          const was = input.cex !== null ? ` (${input.source} recorded ${input.cex.property}, which this replay no longer violates)` : '';
          ended(`no violation: the schedule runs to its end (${run.outcome}, ${run.schedule.choices.length} steps)${was}\n`, 'no violation', ctx.exit.ok);
          return;
        }
        // One replay, its log on: the counterexample comes from it.
        replayed = counterexampleOfRun(input.origin, run, input.origin.limits);
      } catch (e) {
        // --without-mutant: the schedule's steps ran on the kernel's protocol with no violation
        // until it ran out (a counterexample's schedule ends at its violation, and threads could
        // go on) or the model left it (the protocol goes another way there: a fault retries
        // where the mutant's went on). Either way the fix holds as far as the interleaving goes.
        // The interleaving it ran is printed as check numbers it, and the point named by the event it came after.
        if (e instanceof ReplayDivergence && o.withoutMutant) {
          const steps = instance === undefined ? [] : loggedSteps(instance);
          const events = `${steps.length} event${steps.length === 1 ? '' : 's'}`;
          const was = input.cex !== null ? ` where ${input.source} recorded ${input.cex.property}` : '';
          // `where` the events stand from the line: above it where it ends the printed interleaving; an
          // output's header comes before its events (the ftrace log), the JSON keeps them apart.
          const saying = (where: string) =>
            e instanceof ScheduleRanOut
              ? `no violation in the schedule's ${e.steps} scheduler steps (the ${events}${where}): it ends${was}, and threads could run on`
              : `no violation up to where the model without the mutant leaves the schedule, ${steps.length === 0 ? 'before any event' : `after event ${steps.length}`}: ${divergedAt(e.message)}`;
          const said = saying('');
          const lines = numberedSteps(steps);
          lines.push(`${saying(' above')} (this interleaving holds as far as it goes; mmulab check explores the rest)`);
          process.stdout.write(`${lines.join('\n')}\n`);
          // The run that happened is written, to diff with the mutant's (its --json marked: no violation).
          const unwritten: string[] = [];
          const held = {
            format: 'mmulab-replay-without-mutant/1',
            scenario: input.origin.scenario,
            ...(input.origin.scenarioText !== undefined ? { scenarioText: input.origin.scenarioText } : {}),
            settings: input.origin.settings,
            mutant: null,
            replayedFrom: input.source,
            recordedProperty: input.cex?.property ?? null,
            violation: null,
            outcome: said,
            limits: input.origin.limits,
            schedule: input.schedule,
            steps,
          };
          const json = o.json ? writeOutput('--json', o.json, toJson(held)) : null;
          if (json !== null) unwritten.push(json);
          // The page's replay command: this one, as the violation's page gives it (the line without a file when it can carry it all).
          const replayable = { ...input.origin, mutant: input.leftOut, schedule: input.schedule };
          const line = input.cex !== null ? replayLine(replayable) : replayCommandOf(replayable);
          const command = `${line ?? `mmulab replay ${shellWord(input.cex !== null ? input.source : arg)}`} --without-mutant`;
          const view = { ...held, leftOut: input.leftOut };
          writeHeldOutputs(input.factory, input.origin, view, o, command, (l) => unwritten.push(l));
          process.exitCode = reportUnwritten(unwritten) ? ctx.exit.input : ctx.exit.ok;
          return;
        }
        // Well formed, but the schedule does not fit the model it names.
        if (e instanceof ReplayDivergence) {
          // A file's limits are the scheduler's rules: an edit of one replays the same steps, or is refused here where a step no longer fits.
          const why =
            input.cex !== null
              ? 'written by another version of the model, or edited: its schedule, or the limits, settings or mutant it runs under'
              : 'found with other settings or another mutant, by another version of the model, or edited';
          // A counterexample with its mutant edited away, or a line with --mutate left off: say how to ask that.
          const mutant = input.cex !== null ? input.cex.mutant : input.origin.mutant;
          const ask =
            e instanceof ScheduleRanOut && mutant === null ? "; to replay a mutant's counterexample without it, keep the mutant and add --without-mutant" : '';
          throw new InputError(`${input.source}: schedule: ${e.message} (${why}${ask})`);
        }
        // Bad input the execution ran into (a scenario too small for what it maps): located in its file, as run does.
        throw inScenario(input.origin.scenario, e);
      }
      process.stdout.write(`${formatInterleaving(replayed)}\n`);
      // Outputs the system refuses (a full disk, a folder removed meanwhile) are said after the interleaving, and the others still written.
      const unwritten: string[] = [];
      const json = o.json ? writeOutput('--json', o.json, toJson(replayed)) : null;
      if (json !== null) unwritten.push(json);
      // The page's replay command: the line without a file, else the file given (or the --schedule line as given).
      const command =
        input.cex !== null
          ? (replayLine(replayed) ?? `mmulab replay ${shellWord(input.source)}`)
          : (replayCommandOf(replayed) ?? `mmulab replay ${shellWord(arg)}`);
      writeCexOutputs(input.factory, replayed, o, command, (l) => unwritten.push(l));
      if (input.cex !== null && replayed.property !== input.cex.property) {
        process.stderr.write(`mmulab: ${input.source}: property: the replay violated ${replayed.property}, not ${input.cex.property} as recorded\n`);
      }
      // As run's and check's: an output not written gives 2, the violation replayed notwithstanding.
      process.exitCode = reportUnwritten(unwritten) ? ctx.exit.input : ctx.exit.violation;
    });
}
