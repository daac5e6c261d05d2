import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  type CheckResult,
  check,
  type Counterexample,
  formatInterleaving,
  formatSummary,
  parseCounterexample,
  ReplayStrategy,
  replayCounterexample,
  runOnce,
  type StrategySpec,
  ttyProgress,
} from '../check/index.js';
import type { InstanceFactory } from '../check/factory.js';
import { ReportRecorder } from '../report/index.js';
import { createInstance, effectiveSettings } from '../scenario/instantiate.js';
import { InputError } from '../scenario/input-error.js';
import { loadScenario } from '../scenario/load.js';
import type { Sink } from '../kvm/events.js';
import { toJson, writeFileAtomic } from './atomic-write.js';
import { applySets, parseCount } from './overrides.js';

/** What the CLI shares with its subcommands. */
export interface CheckCommandContext {
  isInterrupted: () => boolean;
  checkMutant: (name: string | undefined) => string | null;
  exit: { ok: number; violation: number; input: number; modelBug: number; interrupted: number };
}

interface CheckFlags {
  set: string[];
  mutate?: string;
  strategy: string;
  preemptionBound?: string;
  pctDepth?: string;
  maxExecutions?: string;
  maxSteps?: string;
  timeLimit?: string;
  seed?: string;
  out: string;
  minimise: boolean;
  trace?: string;
  ftrace?: string;
  report?: string;
}

/** Builds the model factory for a scenario reference and its --set list (as recorded in counterexamples). */
function factoryFor(ref: string, sets: readonly string[], mutant: string | null, sinks?: () => Sink[]): InstanceFactory {
  const { scenario, settings } = applySets(loadScenario(ref), sets);
  const eff = effectiveSettings(scenario, settings);
  return (o) => createInstance(scenario, { settings: eff, mutant, log: o.log, metrics: false, sinks: sinks?.() });
}

/** The --set list a counterexample records, back as k=v strings. */
function setsOf(cex: Counterexample): string[] {
  return Object.entries(cex.settings).map(([k, v]) => `${k}=${String(v)}`);
}

function strategySpec(o: CheckFlags): StrategySpec {
  const bound = o.preemptionBound !== undefined ? parseCount('--preemption-bound', o.preemptionBound, 1000) : undefined;
  switch (o.strategy) {
    case 'dfs':
      return { kind: 'dfs', preemptionBound: bound };
    case 'auto':
      return { kind: 'auto', preemptionBound: bound };
    case 'pct':
      return { kind: 'pct', depth: o.pctDepth !== undefined ? parseCount('--pct-depth', o.pctDepth, 100) : undefined };
    case 'random':
      return { kind: 'random' };
    default:
      throw new InputError(`--strategy ${o.strategy}: expected one of dfs, pct, random, auto`);
  }
}

/** Replays a counterexample once more with report sinks attached, and writes the files asked for. */
function writeCexOutputs(ref: string, cex: Counterexample, files: { trace?: string; ftrace?: string; report?: string }): void {
  if (!files.trace && !files.ftrace && !files.report) return;
  const rec = new ReportRecorder({ trace: !!files.trace, ftrace: !!files.ftrace, series: false, title: `${cex.scenario} counterexample` });
  const factory = factoryFor(ref, setsOf(cex), cex.mutant, () => rec.sinks);
  runOnce(
    (o) => {
      const inst = factory(o);
      rec.attach(inst as Parameters<ReportRecorder['attach']>[0]);
      return inst;
    },
    new ReplayStrategy(cex.schedule),
    cex.limits,
    true,
  );
  rec.writeCounterexample(files, cex, { replayCommand: files.report ? 'mmulab replay cex.json' : undefined });
}

export function registerCheckCommands(p: Command, ctx: CheckCommandContext): void {
  p.command('check')
    .description('explore interleavings of a (small) scenario; on a violation write a minimal, replayable counterexample')
    .argument('<scenario>', 'built-in scenario name or file')
    .option('--set <key=value>', 'override a setting or size knob (repeatable)', (v: string, prev: string[]) => [...prev, v], [])
    .option('--mutate <name>', 'apply a named protocol deviation')
    .option('--strategy <name>', 'dfs | pct | random | auto', 'dfs')
    .option('--preemption-bound <n>', 'dfs: most preemptions per execution')
    .option('--pct-depth <n>', 'pct: bug depth d (default 3)')
    .option('--max-executions <n>', 'stop after this many executions')
    .option('--max-steps <n>', 'steps after which an execution is cut (a livelock if work is pending)')
    .option('--time-limit <s>', 'wall-clock budget in seconds')
    .option('--seed <n>', 'seed of the random strategies and the model\'s draws', '1')
    .option('--out <file>', 'where to write the counterexample', 'cex.json')
    .option('--no-minimise', 'report the counterexample as found')
    .option('--trace <file>', 'Perfetto trace of the counterexample')
    .option('--ftrace <file>', 'ftrace-style log of the counterexample')
    .option('--report <file>', 'HTML page with the counterexample as swimlanes')
    .action((ref: string, o: CheckFlags) => {
      const mutant = ctx.checkMutant(o.mutate);
      const factory = factoryFor(ref, o.set, mutant);
      const settings: Record<string, unknown> = {};
      for (const s of o.set) settings[s.slice(0, s.indexOf('='))] = s.slice(s.indexOf('=') + 1);
      const seed = parseCount('--seed', o.seed ?? '1', 2 ** 31 - 1);
      const timeLimit = o.timeLimit !== undefined ? parseCount('--time-limit', o.timeLimit, 1e7) * 1000 : undefined;
      // The exploration is synchronous: a flag set by a SIGINT handler would never be
      // read, so Ctrl-C keeps its default effect (terminate). A counterexample is
      // written as soon as the exploration returns one, so none found is lost.
      process.removeAllListeners('SIGINT');
      const progress = ttyProgress(process.stderr);
      const r: CheckResult = check(factory, {
        strategy: strategySpec(o),
        seed,
        origin: { scenario: ref, settings, mutant },
        minimise: o.minimise,
        maxExecutions: o.maxExecutions !== undefined ? parseCount('--max-executions', o.maxExecutions) : undefined,
        maxSteps: o.maxSteps !== undefined ? parseCount('--max-steps', o.maxSteps) : undefined,
        timeLimitMs: timeLimit,
        progress,
      });
      progress?.end();
      process.stdout.write(`${formatSummary(r.summary)}\n`);
      if (r.modelBug) {
        process.stderr.write(`mmulab: model bug (not a protocol violation): ${r.modelBug.message}\n`);
        process.exitCode = ctx.exit.modelBug;
        return;
      }
      if (r.counterexample === null) {
        process.stdout.write(r.summary.exhausted ? 'no violation: the bounded space was exhausted\n' : 'no violation found\n');
        process.exitCode = ctx.exit.ok;
        return;
      }
      const cex = r.counterexample;
      writeFileAtomic(o.out, toJson(cex));
      if (r.minimisation) {
        process.stdout.write(`minimised: ${r.minimisation.original.steps} → ${r.minimisation.size.steps} steps, ${r.minimisation.original.preemptions} → ${r.minimisation.size.preemptions} preemptions\n`);
      }
      process.stdout.write(`${formatInterleaving(cex)}\n\ncounterexample written to ${o.out}; replay it with:\n  mmulab replay ${o.out}\n`);
      writeCexOutputs(ref, cex, o);
      process.exitCode = ctx.exit.violation;
    });

  p.command('replay')
    .description('re-run a counterexample deterministically and print its interleaving')
    .argument('<cex>', 'counterexample JSON written by check')
    .option('--json <file>', 'write the replayed counterexample as JSON')
    .option('--trace <file>', 'Perfetto trace of the replay')
    .option('--ftrace <file>', 'ftrace-style log of the replay')
    .option('--report <file>', 'HTML page with the interleaving as swimlanes')
    .action((file: string, o: { json?: string; trace?: string; ftrace?: string; report?: string }) => {
      let cex: Counterexample;
      try {
        cex = parseCounterexample(JSON.parse(readFileSync(file, 'utf8')));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new InputError(`${file}: ${code === 'ENOENT' ? 'no such file' : code ? `cannot read (${code})` : (e as Error).message}`);
      }
      const { same, replayed } = replayCounterexample(factoryFor(cex.scenario, setsOf(cex), cex.mutant), cex);
      process.stdout.write(`${formatInterleaving(replayed)}\n`);
      if (o.json) writeFileAtomic(o.json, toJson(replayed));
      writeCexOutputs(cex.scenario, replayed, o);
      if (!same) {
        process.stderr.write(`mmulab: replay violated ${replayed.property}, not ${cex.property}\n`);
      }
      process.exitCode = ctx.exit.violation;
    });
}
