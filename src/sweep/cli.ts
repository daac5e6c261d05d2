import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { formatSummary } from '../check/index.js';
import { toJson } from '../cli/atomic-write.js';
import { drawsNote, exhaustedLine, fullTableLine, minimisedLine, retriesNote } from '../cli/check-command.js';
import { type MergedChecks, mergeChecks } from '../cli/check-json.js';
import { gridSize, renderCompare } from '../cli/compare.js';
import { warnInertSettings } from '../cli/inert-settings.js';
import { workerCount } from '../cli/limits.js';
import { locateInScenarioFile } from '../cli/locate-error.js';
import { idleCheckNote, warnIdleMutant } from '../cli/mutant-note.js';
import { reportUnwritten, writeOutput } from '../cli/output-failure.js';
import { applySets, parseCount, parsePositive, parseVaries, refuseSetAndVaried, seedRange } from '../cli/overrides.js';
import { shellWord } from '../cli/shell-word.js';
import { cellIndex, checkVariants } from '../cli/variants.js';
import { warnLine } from '../cli/which-runs.js';
import { cannotRead } from '../scenario/errno-words.js';
import { InputError, inScenario } from '../scenario/input-error.js';
import { checkScenarioLimits } from '../scenario/limits.js';
import { loadScenario } from '../scenario/load.js';
import { badCellLines } from './bad-cells.js';
import { gridRows, parseShard, shardHolds, shardSize } from './grid.js';
import { type MergePart, parseMergePart } from './merge-input.js';
import {
  cexFromHere,
  foreignCounterexample,
  otherPartsCounterexample,
  type PartCounterexample,
  recordedCounterexample,
  refuseOverCounterexample,
  sharedCounterexample,
  unfoundCounterexample,
  warnSharedCounterexample,
} from './part-counterexamples.js';
import { asCompare, mergeSweeps, missingCells, runSweep, type SweepResult } from './sweep.js';

export interface SweepCliContext {
  isInterrupted: () => boolean;
  wallClock: () => number;
  checkMutant: (name: string | undefined) => string | null;
  exit: { ok: number; violation: number; input: number; interrupted: number; modelBug: number };
}

/** What merge says when parts are missing: the result is written, marked partial, and merge exits 2. */
const MISSING_PARTS = 'a part was not given (or its run did not finish); the merged result, written and shown, is partial';

/** What merge says when a part was interrupted: as for a part not given. */
const INTERRUPTED_PARTS = 'its run did not finish (re-run it); the merged result, written and shown, is partial';

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** `ref`: the scenario as the sweep was given it (a name or a file's path); null for a merge, which has its name only. */
function report(s: SweepResult, json: string | undefined, ctx: SweepCliContext, ref: string | null): void {
  const merged = ref === null;
  // A --json the system refuses now (its folder removed during the sweep) is said after the table, which is printed anyway.
  const unwritten = json === undefined ? null : writeOutput('--json', json, toJson(s));
  // A shard's result holds its own cells only; merged parts are to hold them all.
  const shard = merged ? null : s.shard;
  const owns = (row: number, k: number) => shardHolds(shard, cellIndex(row, k, s.seeds.length));
  // Columns with a violation or a livelock are marked † as compare marks them; each such cell is said on stderr (below) with its replay.
  const c = asCompare(s);
  // A part that holds no cell (more parts than cells) says so in one line; its JSON is written all the same, for merge.
  if (shard !== null && shardSize(gridSize(c), shard) === 0) {
    process.stdout.write(`shard ${shard.index}/${shard.count} holds no cell (the grid has ${gridSize(c)})\n`);
  } else {
    process.stdout.write(`${renderCompare(c, owns, shard ?? undefined)}\n`);
  }
  for (const line of badCellLines(s, ref)) process.stderr.write(`mmulab: ${line}\n`);
  warnIdleMutant(s.mutant, s.rows, s.scenario);
  const bad = s.rows.some((r) => r.results.some((x) => x.violations.length > 0 || x.progress.livelock));
  const bug = s.rows.flatMap((r) => r.results).find((x) => x.modelBug);
  if (bug) process.stderr.write(`mmulab: model bug (not a protocol violation): ${bug.modelBug}\n`);
  const failed = reportUnwritten(unwritten === null ? [] : [unwritten]);
  process.exitCode = bug ? ctx.exit.modelBug : ctx.isInterrupted() ? ctx.exit.interrupted : failed ? ctx.exit.input : bad ? ctx.exit.violation : ctx.exit.ok;
}

/** Prints and writes merged check parts (`lead`: the part their counterexample is of, as read); the exit code is the one check gives. */
function reportCheck(m: MergedChecks, lead: PartCounterexample | null, json: string | undefined, ctx: SweepCliContext): void {
  const c = m.json;
  // The file records its counterexample by an absolute path, or none when it is not found from here: what is printed is relative to the current folder; the file may be read from any.
  // A --json the system refuses (a full disk) is said after the results, which are printed anyway; then exit 2, as check's.
  const unwritten = json ? writeOutput('--json', json, toJson(recordedCounterexample(c, lead))) : null;
  process.stdout.write(`${formatSummary(c.summary, true)}${c.partial ? ` (partial: ${m.gaps.join('; ')})` : ''}\n`);
  // As each part said it: states explored again once a table was full.
  if (c.statesLost !== undefined) process.stderr.write(`mmulab: warning: ${fullTableLine(c.statesLost, c.exploration.strategy)}\n`);
  if (c.summary.stoppedBy === 'model-bug') {
    reportUnwritten(unwritten === null ? [] : [unwritten]);
    const bug = c.modelBug;
    process.stderr.write(`mmulab: model bug (not a protocol violation) in one of the parts${bug ? `: ${bug.message}` : ''}\n`);
    if (bug?.replay) process.stderr.write(`mmulab: reproduce it (as found: not minimised) with:\n  ${bug.replay}\n`);
    process.exitCode = ctx.exit.modelBug;
    return;
  }
  if (c.violation !== null) {
    process.stdout.write(`${c.violation.kind}: ${c.violation.message}\n`);
    if (c.partial) process.stdout.write('(maybe not the first violation of the unsharded check: what the parts did not run may hold an earlier one)\n');
    // As check prints them: how it was minimised, and the replay that needs no file (the part's record of it).
    if (c.minimisation) process.stdout.write(`${minimisedLine(c.minimisation)}\n`);
    const found = c.counterexample !== null && existsSync(c.counterexample);
    if (c.counterexample !== null) {
      // Not found from here: the path is the part's, relative to the folder it ran in, so the replay is to be run there.
      const beside = lead !== null ? ` nor beside ${lead.name}` : '';
      const how = found
        ? '; replay it with'
        : ` (not found from here${beside}: it was written where its part ran); replay it from the folder its part ran in, with`;
      process.stdout.write(`counterexample: ${c.counterexample}${how}:\n  mmulab replay ${shellWord(c.counterexample)}\n`);
    }
    if (c.replay !== undefined)
      process.stdout.write(
        `${found ? 'or, without the file (for a commit message or a mail)' : 'replay it from here, without the file, with'}:\n  ${c.replay}\n`,
      );
  } else {
    process.stdout.write(
      c.summary.exhausted
        ? `${exhaustedLine(c.exploration.strategy, c.boundCutNone === true)}\n${retriesNote(c.exploration.retries ?? 'deferred')}${c.drawnChoices ? drawsNote(c.drawnChoices, c.seed, c.exploration.strategy) : ''}`
        : `no violation found${incompleteWhy(m)}\n`,
    );
  }
  const failed = reportUnwritten(unwritten === null ? [] : [unwritten]);
  // A part not given, or one interrupted, is an input missing: said, and exit 2 (a violation found in the parts given still says 1).
  // A part stopped at its --time-limit is not: without a violation, the unsharded check --time-limit exits 0, and so does merge.
  const interrupted = m.cut.filter((p) => p.stoppedBy === 'interrupted');
  // Said with a violation too: the parts given hold it, but may not hold the unsharded check's first.
  if (m.missing) {
    const not = m.missingShards;
    const named = not.length === 0 ? '' : `--shard ${not.join(', ')} not given: `;
    process.stderr.write(`mmulab: merge: ${named}${MISSING_PARTS}\n`);
  }
  if (interrupted.length > 0 && c.violation === null) {
    const named = interrupted.map((p) => `--shard ${p.shard} (${p.name})`).join(', ');
    process.stderr.write(`mmulab: merge: ${named} ${interrupted.length === 1 ? 'was' : 'were'} interrupted: ${INTERRUPTED_PARTS}\n`);
  }
  const incomplete = c.violation === null && (m.missing || interrupted.length > 0);
  process.exitCode = failed || incomplete ? ctx.exit.input : c.violation !== null ? ctx.exit.violation : ctx.exit.ok;
}

/**
 * Why a merge that found no violation is not the unsharded verdict, as the end of its line: the parts not
 * given, and those cut short (SIGINT, --time-limit), each with its shard; empty when nothing is missing.
 */
function incompleteWhy(m: MergedChecks): string {
  const why: string[] = [];
  if (m.missing) why.push(m.missingShards.length > 0 ? `--shard ${m.missingShards.join(', ')} not given` : 'parts missing');
  for (const p of m.cut) why.push(`${p.name} (shard ${p.shard}) ${p.stoppedBy === 'time-limit' ? 'stopped at --time-limit' : 'interrupted (SIGINT)'}`);
  return why.length === 0 ? '' : ` in what the parts ran; the verification is incomplete: ${why.join('; ')}`;
}

/** Reads and validates the part files; all must be of the first's kind (sweep or check). */
function readParts(files: readonly string[]): MergePart[] {
  const parts = files.map((f) => {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      throw cannotRead(f, 'part', e);
    }
    return parseMergePart(f, text);
  });
  const first = parts[0]!;
  for (const p of parts) {
    if (p.kind !== first.kind) throw new InputError(`${p.name}: format: expected "${first.json.format}" (as ${first.name} has), got "${p.json.format}"`);
  }
  return parts;
}

/** `mmulab sweep` and `mmulab merge`. */
export function registerSweepCommands(p: Command, ctx: SweepCliContext): void {
  p.command('sweep')
    .description('run a grid of variants × seeds in parallel on worker threads (optionally one shard of it)')
    .argument('<scenario>', 'built-in scenario name or file')
    .option('--vary <key=a,b>', 'setting or knob and its values, e.g. mmu=tdp,shadow, vcpus=1,8 or dirtyLog=get,manual,ring:64 (repeatable)', collect, [])
    .option('--set <key=value>', 'override a setting or knob for every variant (repeatable)', collect, [])
    .option('--seeds <n>', "number of seeds, starting at the scenario's", '1')
    .option('--workers <k>', 'worker threads (0: run in the main thread, where SIGINT stops it between cells)', String(availableParallelism()))
    .option('--shard <i/n>', 'run only cells i, i+n, i+2n, … of the grid (0 <= i < n)')
    .option('--mutate <name>', 'apply a named protocol deviation')
    .option('--max-steps <n>', 'bound every run (results marked partial)')
    .option('--json <file>', 'write the result as JSON (input to merge)')
    .action(
      async (
        ref: string,
        o: { vary: string[]; set: string[]; seeds: string; workers: string; shard?: string; mutate?: string; maxSteps?: string; json?: string },
      ) => {
        const loaded = loadScenario(ref);
        const { scenario, settings: base, size } = applySets(loaded, o.set);
        checkScenarioLimits(scenario, ref);
        const vary = parseVaries(o.vary);
        refuseSetAndVaried(o.set, o.vary);
        const rows = gridRows(scenario, base, vary);
        checkVariants(scenario, rows, ref, { loaded, size });
        warnInertSettings(scenario, [...o.set, ...o.vary], rows);
        const mutant = ctx.checkMutant(o.mutate);
        const n = parsePositive('--seeds', o.seeds, 1_000_000);
        const seeds = seedRange(scenario.seed, n);
        const asked = parseCount('--workers', o.workers, 1024);
        const { workers, warning } = workerCount(asked);
        // As check says it: more than the cores, and the cap.
        warnLine(warning);
        const s = await runSweep(scenario, base, vary, seeds, {
          workers,
          shard: o.shard !== undefined ? parseShard(o.shard) : null,
          mutant,
          sets: o.set,
          maxSteps: o.maxSteps !== undefined ? parsePositive('--max-steps', o.maxSteps) : undefined,
          interrupted: ctx.isInterrupted,
          wallClock: ctx.wallClock,
        }).catch((e) => {
          throw inScenario(ref, e);
        });
        // A cell's bad input stopped the sweep: recorded as said here, with the file and the field's line, so that a merge of the parts can say it too.
        if (s.failed !== undefined) s.failed = locateInScenarioFile((inScenario(ref, new InputError(s.failed)) as InputError).message);
        report(s, o.json, ctx, ref);
        // What ran is written and shown, then the error said.
        if (s.failed !== undefined) throw new InputError(s.failed);
      },
    );

  p.command('merge')
    .description('merge sweep or check shard results into the unsharded result')
    .argument('<files...>', 'sweep --json or check --json outputs')
    .option('--json <file>', 'write the merged result as JSON')
    .action((files: string[], o: { json?: string }) => {
      const parts = readParts(files);
      const checks = parts.flatMap((p) => (p.kind === 'check' ? [p] : []));
      if (checks.length > 0) {
        const named = checks.map((p) => ({ name: p.name, json: { ...p.json, counterexample: cexFromHere(p.name, p.json.counterexample) } }));
        if (o.json !== undefined) refuseOverCounterexample(o.json, named);
        const merged = mergeChecks(named);
        const lead = merged.lead === null ? null : named[merged.lead]!;
        warnSharedCounterexample(merged.json.counterexample, named, lead);
        // A file holding another violation, or by its record another part's counterexample, is not the part's: recorded as not found, as one gone is.
        // (Said once: warnSharedCounterexample has said whose it is when parts share it.)
        const shared = sharedCounterexample(merged.json.counterexample, named);
        if (foreignCounterexample(merged.json.counterexample, merged.json.violation) || otherPartsCounterexample(merged.json.counterexample, lead, !shared))
          merged.json = unfoundCounterexample(merged.json, checks[merged.lead!]!);
        reportCheck(merged, merged.lead === null ? null : checks[merged.lead]!, o.json, ctx);
        // As check says it: the parts' mutant acted in none of their executions (the count is left out at a violation).
        const m = merged.json;
        warnLine(m.violation === null ? idleCheckNote(m.mutant, m.summary, m.scenario, null) : null);
        return;
      }
      const sweeps = parts.flatMap((p) => (p.kind === 'sweep' ? [p] : []));
      const merged = mergeSweeps(
        sweeps.map((p) => p.json),
        sweeps.map((p) => p.name),
      );
      report(merged, o.json, ctx, null);
      // As the sweep said it: what ran is written and shown, then the cell's bad input.
      if (merged.failed !== undefined) throw new InputError(merged.failed);
      const missing = missingCells(merged);
      if (missing.length > 0 && process.exitCode === ctx.exit.ok) {
        const shown = missing.length > 4 ? `${missing.slice(0, 4).join(', ')} and ${missing.length - 4} more` : missing.join(', ');
        process.stderr.write(`mmulab: merge: ${missing.length} ${missing.length === 1 ? 'cell is' : 'cells are'} in no part (${shown}): ${MISSING_PARTS}\n`);
        process.exitCode = ctx.exit.input;
      }
    });
}
