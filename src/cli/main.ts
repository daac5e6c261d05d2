#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { MUTANTS } from '../kvm/mutants.js';
import { SETTINGS } from '../kvm/settings.js';
import { removeTempFiles } from '../report/atomic-file.js';
import { printable } from '../report/printable.js';
import { ModelBug } from '../runtime/model-bug.js';
import { InputError, inScenario } from '../scenario/input-error.js';
import { effectiveSettings } from '../scenario/instantiate.js';
import { checkScenarioLimits } from '../scenario/limits.js';
import { builtinIndex, loadScenario } from '../scenario/load.js';
import { registerSweepCommands } from '../sweep/cli.js';
import { toJson } from './atomic-write.js';
import { registerAuditCommand } from './audit-command.js';
import { registerCheckCommands } from './check-command.js';
import { renderCompare } from './compare.js';
import { warnInertSettings } from './inert-settings.js';
import { parseTimeLimit, pastDeadline } from './limits.js';
import { locateInScenarioFile } from './locate-error.js';
import { warnIdleMutant } from './mutant-note.js';
import { type JobOutputs, runOffloaded } from './offload.js';
import { reportUnwritten, writeOutput } from './output-failure.js';
import { checkOutputOptions } from './output-path.js';
import { applySets, parsePositive, parseSeed, parseVaries, refuseSetAndVaried, seedRange } from './overrides.js';
import { registerReplayCommand } from './replay-command.js';
import { shellCommand } from './shell-word.js';
import { refuseRepeatedOptions } from './single-options.js';
import { summarizeRun } from './summary.js';
import { checkVariants, variants } from './variants.js';

/** Exit codes: 0 no violation, 1 a property violated, 2 bad input, 3 model bug, 130 interrupted. */
export const EXIT = { ok: 0, violation: 1, input: 2, modelBug: 3, interrupted: 130 } as const;

let interrupted = false;
/** The signals that stop a run where it is, as SIGINT does. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const isInterrupted = () => interrupted;
const wallClock = () => performance.now();

/** Wraps text at word boundaries to `width` columns. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const w of text.split(/\s+/)) {
    if (cur && cur.length + 1 + w.length > width) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines;
}

/** Report files asked for on the command line. */
type Outputs = { trace?: string; ftrace?: string; report?: string };

/** The outputs, and the command line (`argv`, as main got it) quoted for the shell, for the report's Reproduce line. */
function outputs(o: Outputs, argv: readonly string[]): JobOutputs {
  return { trace: o.trace, ftrace: o.ftrace, report: o.report, command: shellCommand(['mmulab', ...argv]) };
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function checkMutant(name: string | undefined): string | null {
  if (name === undefined) return null;
  if (!MUTANTS.some((m) => m.name === name)) {
    throw new InputError(`--mutate ${name}: unknown mutant; expected one of ${MUTANTS.map((m) => m.name).join(', ')}`);
  }
  return name;
}

/** A commander error ('error: unknown option \'--bogus\'\n(Did you mean --seed?)\n') as mmulab says errors: 'mmulab: …', one line. */
export function commanderErrorLine(text: string): string {
  const words = text
    .trim()
    .replace(/^error: /, '')
    .replace(/\s*\n\s*/g, ' ')
    .replace(' (Did you mean', ' (did you mean');
  return `mmulab: ${words}\n`;
}

function program(argv: readonly string[]): Command {
  const p = new Command('mmulab')
    .description('Executable, checkable model of the KVM x86 MMU invalidation machinery')
    .exitOverride()
    // Commander's own errors (an unknown option, a missing argument) carry the prefix every other error has, in one line.
    .configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: (s, write) => write(commanderErrorLine(s)) })
    .hook('preAction', (_program, command) => checkOutputOptions(command));

  p.command('run')
    .description('simulate a scenario (built-in name or YAML/JSON file) and print a summary')
    .argument('<scenario>', 'built-in scenario name or file')
    .option(
      '--set <key=value>',
      'override a setting, a size knob (vcpus, invalidations, faultsPerVcpu) or a dirty-log knob (dirtyLog=get|manual|manual-initially-set|ring[:N], ringSize=N) (repeatable)',
      collect,
      [],
    )
    .option('--seed <n>', "seed (default: the scenario's)")
    .option('--mutate <name>', 'apply a named protocol deviation')
    .option('--max-steps <n>', 'stop after this many steps (result marked partial)')
    .option('--time-limit <s>', 'stop after this many wall-clock seconds (result marked partial)')
    .option('--json <file>', 'write the full result as JSON')
    .option('--trace <file>', 'write a Chrome Trace Event JSON (opens in ui.perfetto.dev)')
    .option('--ftrace <file>', 'write a trace-cmd report style log')
    .option('--report <file>', 'write a self-contained HTML report')
    .action(async (ref: string, o: { set: string[]; seed?: string; mutate?: string; maxSteps?: string; timeLimit?: string; json?: string } & Outputs) => {
      const { scenario, settings: sets, size } = applySets(loadScenario(ref), o.set);
      checkScenarioLimits(scenario, ref);
      const deadlineMs = parseTimeLimit(o.timeLimit);
      const settings = effectiveSettings(scenario, sets);
      const seed = o.seed !== undefined ? parseSeed(o.seed) : scenario.seed;
      const mutant = checkMutant(o.mutate);
      const maxSteps = o.maxSteps !== undefined ? parsePositive('--max-steps', o.maxSteps) : undefined;
      warnInertSettings(scenario, o.set, [{ label: null, settings }]);
      // Outputs the system refuses at the end (a folder removed meanwhile) are said after the table, which is printed anyway.
      const unwritten: string[] = [];
      const r = await runOffloaded(
        { kind: 'run', scenario, settings, size, mutant, seed, maxSteps, deadlineMs, outputs: outputs(o, argv) },
        isInterrupted,
        undefined,
        (line) => unwritten.push(line),
      ).catch((e) => {
        throw inScenario(ref, e);
      });
      const json = o.json === undefined ? null : writeOutput('--json', o.json, toJson(r));
      if (json !== null) unwritten.push(json);
      // Why a partial run stopped: SIGINT, or which bound.
      const stopped = interrupted
        ? 'interrupted'
        : maxSteps !== undefined && r.steps >= maxSteps
          ? `stopped at --max-steps ${maxSteps}`
          : pastDeadline(deadlineMs)
            ? `stopped at --time-limit ${o.timeLimit} s`
            : undefined;
      process.stdout.write(`${summarizeRun(r, stopped)}\n`);
      warnIdleMutant(mutant, [{ label: null, results: [r] }], scenario.name ?? ref, settings);
      if (r.partial && !interrupted && pastDeadline(deadlineMs)) process.stderr.write(`mmulab: stopped at --time-limit ${o.timeLimit} s (result partial)\n`);
      const failed = reportUnwritten(unwritten);
      if (r.modelBug) {
        process.stderr.write(`mmulab: model bug (not a protocol violation): ${r.modelBug}\n`);
        process.exitCode = EXIT.modelBug;
      } else if (interrupted) process.exitCode = EXIT.interrupted;
      else if (failed) process.exitCode = EXIT.input;
      else process.exitCode = r.violations.length > 0 || r.progress.livelock ? EXIT.violation : EXIT.ok;
    });

  p.command('compare')
    .description('run variants of a scenario on the same workload and seeds, side by side')
    .argument('<scenario>', 'built-in scenario name or file')
    .option(
      '--vary <key=a,b>',
      'setting or knob and its values to compare, e.g. mmu=tdp,shadow, vcpus=1,8 or dirtyLog=get,manual,ring:64 (repeatable)',
      collect,
      [],
    )
    .option('--set <key=value>', 'override a setting or knob for every variant (repeatable)', collect, [])
    .option('--seeds <n>', "number of seeds, starting at the scenario's", '1')
    .option('--mutate <name>', 'apply a named protocol deviation')
    .option('--time-limit <s>', 'stop after this many wall-clock seconds (result marked partial)')
    .option('--json <file>', 'write every result as JSON')
    .option('--report <file>', 'write a self-contained HTML page with the variants side by side')
    .action(async (ref: string, o: { vary: string[]; set: string[]; seeds: string; mutate?: string; timeLimit?: string; json?: string } & Outputs) => {
      const loaded = loadScenario(ref);
      const { scenario, settings: base, size } = applySets(loaded, o.set);
      checkScenarioLimits(scenario, ref);
      const deadlineMs = parseTimeLimit(o.timeLimit);
      if (o.vary.length === 0) throw new InputError('compare: expected at least one --vary key=a,b');
      const vary = parseVaries(o.vary);
      refuseSetAndVaried(o.set, o.vary);
      const rows = variants(scenario, base, vary);
      checkVariants(scenario, rows, ref, { loaded, size });
      warnInertSettings(scenario, [...o.set, ...o.vary], rows);
      const n = parsePositive('--seeds', o.seeds, 10000);
      const seeds = seedRange(scenario.seed, n);
      const mutant = checkMutant(o.mutate);
      const unwritten: string[] = [];
      const c = await runOffloaded(
        { kind: 'compare', scenario, base, vary, seeds, mutant, sets: o.set, deadlineMs, outputs: outputs(o, argv) },
        isInterrupted,
        undefined,
        (line) => unwritten.push(line),
      ).catch((e) => {
        throw inScenario(ref, e);
      });
      // A variant's bad input stopped the comparison: what ran is written and shown, then the error said;
      // recorded as said, with the file and the field's line, as sweep records it.
      if (c.failed !== undefined) c.failed = locateInScenarioFile((inScenario(ref, new InputError(c.failed)) as InputError).message);
      const json = o.json === undefined ? null : writeOutput('--json', o.json, toJson(c));
      if (json !== null) unwritten.push(json);
      process.stdout.write(`${renderCompare(c)}\n`);
      warnIdleMutant(mutant, c.rows, c.scenario);
      const bad = c.rows.some((r) => r.results.some((x) => x.violations.length > 0 || x.progress.livelock));
      const bug = c.rows.flatMap((r) => r.results).find((x) => x.modelBug);
      if (bug) process.stderr.write(`mmulab: model bug (not a protocol violation): ${bug.modelBug}\n`);
      const failed = reportUnwritten(unwritten);
      if (c.failed !== undefined) throw new InputError(c.failed);
      process.exitCode = bug ? EXIT.modelBug : interrupted ? EXIT.interrupted : failed ? EXIT.input : bad ? EXIT.violation : EXIT.ok;
    });

  p.command('list')
    .description('list built-in scenarios, settings and mutants')
    .option('--json', 'print as JSON')
    .action((o: { json?: boolean }) => {
      const scenarios = builtinIndex();
      const settings = SETTINGS.map((s) => ({
        key: s.key,
        values: s.values,
        ...(s.range ? { range: s.range } : {}),
        default: s.default,
        description: s.description,
      }));
      const mutants = MUTANTS.map((m) => ({ name: m.name, description: m.description, scenario: m.scenario }));
      if (o.json) {
        process.stdout.write(toJson({ scenarios, settings, mutants }));
        return;
      }
      const out: string[] = ['Scenarios:'];
      for (const s of scenarios) out.push(`  ${printable(s.name)}`, ...wrap(printable(s.description), 74).map((l) => `      ${l}`));
      out.push('', 'Settings (--set key=value):');
      for (const s of settings) {
        const values = s.range !== undefined ? [...s.values, `${s.range.min}..${s.range.max}`].join(' | ') : s.values.join(' | ');
        out.push(`  ${s.key.padEnd(15)} ${values} (default ${s.default})`, `  ${''.padEnd(15)} ${s.description}`);
      }
      out.push('', 'Mutants (--mutate name):');
      for (const m of mutants) out.push(`  ${m.name.padEnd(28)} [${m.scenario}]`, `  ${''.padEnd(28)} ${m.description}`);
      process.stdout.write(`${out.join('\n')}\n`);
    });

  registerCheckCommands(p, { isInterrupted, checkMutant, exit: EXIT });
  registerReplayCommand(p, { isInterrupted, checkMutant, exit: EXIT });
  registerAuditCommand(p, { isInterrupted, checkMutant, exit: EXIT });
  registerSweepCommands(p, { isInterrupted, wallClock, checkMutant, exit: EXIT });
  refuseRepeatedOptions(p);

  return p;
}

export async function main(argv: string[]): Promise<number> {
  // SIGTERM and SIGHUP as SIGINT: a batch system's time limit (Slurm, Kubernetes) or a closed
  // terminal stops the run where it is, and what ran is written, not lost.
  const stop = () => {
    if (interrupted) {
      // A write under way (a big trace, on a worker thread) leaves no temporary file behind.
      removeTempFiles();
      process.stderr.write('mmulab: stopped again: exiting now; outputs not yet written are not written (files from before are kept)\n');
      process.exit(EXIT.interrupted);
    }
    interrupted = true;
  };
  // Each call starts uninterrupted and takes its handlers away at its end: a second
  // call in one process (the in-process tests) is not stopped by the first's signal.
  interrupted = false;
  for (const signal of STOP_SIGNALS) process.on(signal, stop);
  try {
    await program(argv).parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0) return EXIT.ok;
      return EXIT.input;
    }
    if (e instanceof InputError) {
      process.stderr.write(`mmulab: ${printable(locateInScenarioFile(e.message))}\n`);
      return EXIT.input;
    }
    if (e instanceof ModelBug) {
      process.stderr.write(`mmulab: model bug (not a protocol violation): ${printable(e.message)}\n`);
      return EXIT.modelBug;
    }
    // A file the system refused after the up-front checks (a full disk, a folder gone meanwhile).
    const io = e as NodeJS.ErrnoException;
    if (typeof io?.code === 'string' && typeof io.syscall === 'string') {
      process.stderr.write(`mmulab: ${printable(io.message)}\n`);
      return EXIT.input;
    }
    process.stderr.write(`mmulab: internal error: ${printable((e as Error)?.message ?? String(e))}\n`);
    return EXIT.modelBug;
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, stop);
  }
}
