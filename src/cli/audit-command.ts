import type { Command } from 'commander';
import { inScenario } from '../scenario/input-error.js';
import { loadScenario } from '../scenario/load.js';
import { toJson } from './atomic-write.js';
import type { AuditResult } from './audit-job.js';
import type { CheckCommandContext } from './check-command.js';
import { checkedFactoryFor } from './check-factory.js';
import { parseTimeLimitSeconds } from './limits.js';
import { warnMutantSets } from './mutant-note.js';
import { runOffloaded } from './offload.js';
import { reportUnwritten, writeOutput } from './output-failure.js';
import { parseCount, parsePositive, parseSeed, settingsOf } from './overrides.js';
import { parseRetries, RETRIES_HELP } from './retries-option.js';

/** Format of `audit --json`. */
export const AUDIT_FORMAT = 'mmulab-audit/1';

/** Kinds of race printed (the JSON has them all). */
const SHOWN = 15;

interface AuditFlags {
  set: string[];
  mutate?: string;
  executions: string;
  seed: string;
  preemptionBound?: string;
  profileExecutions?: string;
  profileTime: string;
  retries: string;
  json?: string;
}

/** The audit as the terminal shows it. */
export function formatAudit(r: AuditResult, executions: number): string {
  const out: string[] = [];
  if (r.unsound.length === 0) {
    out.push(`footprints: sound in ${executions} random executions (every swapped pair of steps announced independent commuted)`);
  } else {
    out.push(`footprints: UNSOUND: ${r.unsound.length} pair(s) of steps announced independent did not commute; the reduction may miss interleavings:`);
    for (const f of r.unsound) out.push(`  ${f.first}  /  ${f.second}: ${f.difference}`);
  }
  const always = r.conflicts.filter((c) => c.commuted === c.tries);
  out.push('', `conflicting pairs that commuted in every swap tried (${always.length} of ${r.conflicts.length} kinds; candidates for a finer announcement):`);
  if (always.length === 0) out.push('  none');
  for (const c of always) out.push(`  ${`${c.commuted}/${c.tries}`.padStart(5)}  ${c.first}  ->  ${c.second}`);
  const p = r.races;
  const bound = p.preemptionBound === null ? 'no preemption bound' : `preemption bound ${p.preemptionBound}`;
  out.push(
    '',
    `races DPOR reversed (dfs with DPOR as one search, ${bound}${p.preemptionBound === null ? '' : '; check with a bound runs --por states by default'}: ${p.executions} executions, ${p.distinctTraces} distinct traces, ${p.violation !== null ? `stopped at a violation of ${p.violation}` : p.exhausted ? 'exhausted' : 'not exhausted'}, ${p.backtracks} backtrack points), by kind:`,
  );
  if (p.classes.length === 0) out.push('  none: a single execution covers the space');
  for (const c of p.classes.slice(0, SHOWN)) out.push(`  ${(100 * c.share).toFixed(1).padStart(5)}%  ${c.first}  ->  ${c.second}`);
  if (p.classes.length > SHOWN) out.push(`  … ${p.classes.length - SHOWN} more kinds (--json has them all)`);
  return out.join('\n');
}

export function registerAuditCommand(p: Command, ctx: CheckCommandContext): void {
  p.command('audit')
    .description("audit a scenario's announced footprints (on which dfs's reduction relies) and profile the races dfs reverses")
    .argument('<scenario>', 'built-in scenario name or file')
    .option('--set <key=value>', 'override a setting or size knob (repeatable)', (v: string, prev: string[]) => [...prev, v], [])
    .option('--mutate <name>', 'apply a named protocol deviation')
    .option('--executions <n>', 'random executions whose adjacent steps are swapped', '200')
    .option('--seed <n>', "seed of those executions and of the model's draws", '1')
    .option('--preemption-bound <n>', "the profile's dfs: most preemptions per execution")
    .option('--profile-executions <n>', "the profile's dfs: stop after this many executions (deterministic)")
    .option('--profile-time <s>', "the profile's dfs: wall-clock budget in seconds", '10')
    .option('--retries <rule>', `the profile's dfs: ${RETRIES_HELP}`, 'deferred')
    .option('--json <file>', 'write the audit as JSON')
    .action(async (ref: string, o: AuditFlags) => {
      const mutant = ctx.checkMutant(o.mutate);
      const base = loadScenario(ref);
      checkedFactoryFor(ref, o.set, mutant, base); // bad input fails here, before the worker starts
      warnMutantSets(mutant, base, o.set);
      // No execution would audit nothing, and the verdict would still read 'sound'.
      const executions = parsePositive('--executions', o.executions, 1e6);
      const seed = parseSeed(o.seed);
      const options = {
        executions,
        seed,
        preemptionBound: o.preemptionBound !== undefined ? parseCount('--preemption-bound', o.preemptionBound, 1000) : undefined,
        profileExecutions: o.profileExecutions !== undefined ? parsePositive('--profile-executions', o.profileExecutions) : undefined,
        profileTimeLimitMs: parseTimeLimitSeconds(o.profileTime, '--profile-time') * 1000,
        retries: parseRetries(o.retries),
      };
      const r = await runOffloaded({ kind: 'audit', ref, sets: o.set, mutant, options }, ctx.isInterrupted).catch((e: unknown) => {
        throw inScenario(ref, e);
      });
      // A --json the system refuses now (its folder removed during the audit, a full disk) is said after the audit, which is printed anyway.
      const json =
        o.json === undefined
          ? null
          : writeOutput(
              '--json',
              o.json,
              toJson({ format: AUDIT_FORMAT, scenario: ref, settings: settingsOf(o.set), mutant, ...options, ...r, partial: r.interrupted }),
            );
      process.stdout.write(`${formatAudit(r, executions)}\n`);
      const failed = reportUnwritten(json === null ? [] : [json]);
      process.exitCode = r.unsound.length > 0 ? ctx.exit.modelBug : r.interrupted ? ctx.exit.interrupted : failed ? ctx.exit.input : ctx.exit.ok;
    });
}
