import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { formatSummary } from '../check/index.js';
import { toJson, writeFileAtomic } from '../cli/atomic-write.js';
import { CHECK_FORMAT, type CheckJson, mergeChecks } from '../cli/check-json.js';
import { renderCompare } from '../cli/compare.js';
import { applySets, parseCount, parsePositive, parseVaries } from '../cli/overrides.js';
import { checkVariants } from '../cli/variants.js';
import { InputError } from '../scenario/input-error.js';
import { checkScenarioLimits } from '../scenario/limits.js';
import { loadScenario } from '../scenario/load.js';
import { gridRows, parseShard } from './grid.js';
import { asCompare, mergeSweeps, runSweep, type SweepResult } from './sweep.js';

export interface SweepCliContext {
  isInterrupted: () => boolean;
  wallClock: () => number;
  checkMutant: (name: string | undefined) => string | null;
  exit: { ok: number; violation: number; interrupted: number; modelBug: number };
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function report(s: SweepResult, json: string | undefined, ctx: SweepCliContext): void {
  if (json) writeFileAtomic(json, toJson(s));
  const where = s.shard ? ` (shard ${s.shard.index}/${s.shard.count})` : '';
  process.stdout.write(`${renderCompare(asCompare(s))}${where}\n`);
  const bad = s.rows.some((r) => r.results.some((x) => x.violations.length > 0 || x.progress.livelock));
  const bug = s.rows.flatMap((r) => r.results).find((x) => x.modelBug);
  if (bug) process.stderr.write(`mmulab: model bug (not a protocol violation): ${bug.modelBug}\n`);
  process.exitCode = bug ? ctx.exit.modelBug : ctx.isInterrupted() ? ctx.exit.interrupted : bad ? ctx.exit.violation : ctx.exit.ok;
}

/** Prints and writes merged check parts; the exit code is the one check gives. */
function reportCheck(c: CheckJson, json: string | undefined, ctx: SweepCliContext): void {
  if (json) writeFileAtomic(json, toJson(c));
  process.stdout.write(`${formatSummary(c.summary)}${c.partial ? ' (partial: parts missing or interrupted)' : ''}\n`);
  if (c.summary.stoppedBy === 'model-bug') {
    process.stderr.write('mmulab: model bug (not a protocol violation) in one of the parts\n');
    process.exitCode = ctx.exit.modelBug;
  } else if (c.violation !== null) {
    process.stdout.write(
      `${c.violation.kind}: ${c.violation.message}\n${c.counterexample !== null ? `counterexample: ${c.counterexample}; replay it with:\n  mmulab replay ${c.counterexample}\n` : ''}`,
    );
    process.exitCode = ctx.exit.violation;
  } else {
    process.stdout.write(c.summary.exhausted ? 'no violation: the bounded space was exhausted\n' : 'no violation found\n');
    process.exitCode = ctx.exit.ok;
  }
}

/** `mmulab sweep` and `mmulab merge`. */
export function registerSweepCommands(p: Command, ctx: SweepCliContext): void {
  p.command('sweep')
    .description('run a grid of variants × seeds in parallel on worker threads (optionally one shard of it)')
    .argument('<scenario>', 'built-in scenario name or file')
    .option('--vary <key=a,b>', 'setting and its values (repeatable)', collect, [])
    .option('--set <key=value>', 'override a setting for every variant (repeatable)', collect, [])
    .option('--seeds <n>', "number of seeds, starting at the scenario's", '1')
    .option('--workers <k>', 'worker threads (0: run in the main thread)', String(availableParallelism()))
    .option('--shard <i/n>', 'run only cells i, i+n, i+2n, … of the grid (0 <= i < n)')
    .option('--mutate <name>', 'apply a named protocol deviation')
    .option('--max-steps <n>', 'bound every run (results marked partial)')
    .option('--json <file>', 'write the result as JSON (input to merge)')
    .action(
      async (
        ref: string,
        o: { vary: string[]; set: string[]; seeds: string; workers: string; shard?: string; mutate?: string; maxSteps?: string; json?: string },
      ) => {
        const { scenario, settings: base } = applySets(loadScenario(ref), o.set);
        checkScenarioLimits(scenario, ref);
        const vary = parseVaries(o.vary);
        checkVariants(scenario, gridRows(scenario, base, vary), ref);
        const n = parsePositive('--seeds', o.seeds, 1_000_000);
        const seeds = Array.from({ length: n }, (_, i) => scenario.seed + i);
        const s = await runSweep(scenario, base, vary, seeds, {
          workers: parseCount('--workers', o.workers, 1024),
          shard: o.shard !== undefined ? parseShard(o.shard) : null,
          mutant: ctx.checkMutant(o.mutate),
          maxSteps: o.maxSteps !== undefined ? parsePositive('--max-steps', o.maxSteps) : undefined,
          interrupted: ctx.isInterrupted,
          wallClock: ctx.wallClock,
        });
        report(s, o.json, ctx);
      },
    );

  p.command('merge')
    .description('merge sweep or check shard results into the unsharded result')
    .argument('<files...>', 'sweep --json or check --json outputs')
    .option('--json <file>', 'write the merged result as JSON')
    .action((files: string[], o: { json?: string }) => {
      const parts = files.map((f) => {
        let text: string;
        try {
          text = readFileSync(f, 'utf8');
        } catch (e) {
          throw new InputError(`${f}: cannot read: ${(e as Error).message}`);
        }
        try {
          return JSON.parse(text) as SweepResult | CheckJson;
        } catch (e) {
          throw new InputError(`${f}: not JSON: ${(e as Error).message}`);
        }
      });
      // The first file's format says what is merged; mergeChecks and mergeSweeps refuse any other.
      if ((parts[0] as { format?: unknown } | null)?.format === CHECK_FORMAT) {
        reportCheck(mergeChecks(parts.map((json, i) => ({ name: files[i]!, json: json as CheckJson }))), o.json, ctx);
        return;
      }
      report(mergeSweeps(parts as SweepResult[]), o.json, ctx);
    });
}
