import { z } from 'zod';
import { quotedValue } from '../check/quoted-value.js';
import type { CheckJson } from '../cli/check-json.js';
import { InputError } from '../scenario/input-error.js';
import { bound, isMissing, typeWords } from '../scenario/issue-words.js';
import { parseJsonText } from '../scenario/json-input.js';
import { unknownKeysWords } from '../scenario/key-words.js';
import { MAX_SHARDS } from './grid.js';
import type { SweepResult } from './sweep.js';

/**
 * The part files `mmulab merge` reads, validated before anything is merged: a
 * file that is not one (null, a field missing, a shard 5/3, a ledger entry
 * that is not five counts) is refused as bad input, in one line naming the
 * file, the field and what was expected, rather than merged into NaN or a
 * crash. Only what merge and its report read is checked; a valid file is
 * used as it was read (fields added by a later mmulab go through).
 */

const SWEEP_FORMAT = 'mmulab-sweep/1';
const CHECK_FORMAT = 'mmulab-check/1';

/** A part file, read and validated. */
export type MergePart = { name: string; kind: 'sweep'; json: SweepResult } | { name: string; kind: 'check'; json: CheckJson };

const int = z.number().int();
const count = int.min(0);
const ms = z.number().min(0);
const text = z.string();

/** A shard i/n; `max` bounds n (a file's shard is what --shard took; its workers' parts are shares of it). */
const shardOf = (max: number) =>
  z.object({ index: count, count: int.min(1).max(max) }).check((c) => {
    if (c.value.index >= c.value.count)
      c.issues.push({ code: 'custom', input: c.value, path: ['index'], message: `expected 0 <= index < count (${c.value.count})` });
  });

/** The shard a file holds: n as --shard takes it. */
const shard = shardOf(MAX_SHARDS);

const violation = z.object({ kind: text, thread: text, timeNs: z.number(), step: z.number(), message: text });

// --- check parts (check --json) ---

const stopReason = z.enum(['violation', 'model-bug', 'exhausted', 'max-executions', 'time-limit', 'interrupted', 'elsewhere', 'parts-missing']);

const summary = z.object({
  strategy: text,
  executions: count,
  exhausted: z.boolean(),
  stoppedBy: stopReason,
  maxDepth: count,
  truncated: count,
  redundant: count,
  wallMs: ms,
  executionsPerSec: ms,
  firstCounterexampleMs: ms.nullable(),
  violationExecution: count.nullable(),
  mutantActedExecutions: count.optional(),
  preemptionBounds: z.array(z.object({ preemptionBound: count.nullable(), executions: count, exhausted: z.boolean() })).optional(),
});

/** A part's figures by unit (ledger.ts PartRecord): units owned by its shard, in increasing order, none past the last begun. */
const partRecord = z
  .object({
    // A worker's share of its file's shard (shard.ts subShard): n times the workers.
    shard: shardOf(Number.MAX_SAFE_INTEGER),
    lastUnit: int.min(-1),
    stopUnit: count.nullable(),
    entries: z.array(z.tuple([count, count, count, count, count])),
  })
  .check((c) => {
    const { shard: s, lastUnit, stopUnit, entries } = c.value;
    const owned = (u: number) => u % s.count === s.index;
    const issue = (path: PropertyKey[], message: string) => c.issues.push({ code: 'custom', input: c.value, path, message });
    if (stopUnit !== null && !owned(stopUnit))
      issue(['stopUnit'], `expected a unit of shard ${s.index}/${s.count} (≡ ${s.index} mod ${s.count}), got ${stopUnit}`);
    let before = -1;
    entries.forEach(([u], i) => {
      if (!owned(u)) issue(['entries', i, 0], `expected a unit of shard ${s.index}/${s.count} (≡ ${s.index} mod ${s.count}), got ${u}`);
      else if (u <= before) issue(['entries', i, 0], `expected units in increasing order, got ${u} after ${before}`);
      else if (u > lastUnit) issue(['entries', i, 0], `expected a unit no later than lastUnit (${lastUnit}), got ${u}`);
      before = u;
    });
  });

const explorePart = z.object({ summary, part: partRecord }).check((c) => {
  const stopped = c.value.summary.stoppedBy === 'violation' || c.value.summary.stoppedBy === 'model-bug';
  if (stopped !== (c.value.part.stopUnit !== null)) {
    c.issues.push({
      code: 'custom',
      input: c.value,
      path: ['part', 'stopUnit'],
      message: stopped
        ? `expected the unit of the ${c.value.summary.stoppedBy} summary.stoppedBy reports, got null`
        : `expected null (summary.stoppedBy is ${c.value.summary.stoppedBy}), got ${c.value.part.stopUnit}`,
    });
  }
});

const cexSize = z.object({ steps: count, preemptions: count, switches: count });

const checkFile = z
  .object({
    format: z.literal(CHECK_FORMAT),
    scenario: text,
    scenarioDigest: text,
    build: text.optional(),
    settings: z.record(text, z.union([text, z.number(), z.boolean()])),
    mutant: text.nullable(),
    seed: count,
    summary,
    violation: violation.nullable(),
    counterexample: text.nullable(),
    replay: text.optional(),
    minimisation: z
      .object({
        original: cexSize,
        size: cexSize,
        attempts: count,
        search: z.object({ executions: count, complete: z.boolean() }).nullable(),
      })
      .nullable(),
    partial: z.boolean(),
    shard: shard.nullable(),
    exploration: z.object({
      strategy: z.object({ kind: z.enum(['dfs', 'pct', 'random', 'auto']) }),
      maxExecutions: int.min(1).nullable(),
      maxSteps: int.min(1).nullable(),
      retries: text.optional(),
    }),
    drawnChoices: z.object({ all: z.array(text), seeded: z.array(text) }).optional(),
    modelBug: z.object({ message: text, schedule: text, replay: text.nullable() }).optional(),
    parts: z.array(explorePart).min(1),
    statesLost: count.optional(),
    boundCutNone: z.literal(true).optional(),
  })
  .check((c) => {
    // A file's parts are its workers' shares of its shard: part w of shard i/n is i + n·w of n·k (shard.ts subShard).
    const s = c.value.shard;
    if (s === null) return;
    c.value.parts.forEach((p, i) => {
      const ps = p.part.shard;
      if (ps.count % s.count !== 0 || ps.index % s.count !== s.index) {
        c.issues.push({
          code: 'custom',
          input: c.value,
          path: ['parts', i, 'part', 'shard'],
          message: `expected a share of the file's shard ${s.index}/${s.count} (index ≡ ${s.index} mod ${s.count}, count a multiple of ${s.count}), got ${ps.index}/${ps.count}`,
        });
      }
    });
  });

// --- sweep parts (sweep --json): compare's rows, each result a run's (simulate/result.ts) ---

const percentiles = z.object({ p50: z.number(), p90: z.number(), p99: z.number(), max: z.number() });
const num = z.number();

const runResult = z.object({
  format: z.literal('mmulab-run/1'),
  scenario: text,
  // Optional: sweep parts written before it was added hold none.
  scenarioDigest: text.optional(),
  seed: int,
  settings: z.record(text, z.unknown()),
  mutant: text.nullable(),
  mutantActed: int.optional(),
  simTimeNs: num,
  steps: num,
  metrics: z.object({
    faults: z.object({
      total: num,
      fixed: num,
      retries: num,
      retriesBeforeLock: num,
      retriesUnderLock: num,
      retriesInvalidSlot: num,
      retriesGpteChanged: num,
      spurious: num,
      emulated: num,
      injectedPf: num,
      inFlight: num,
      latencyNs: percentiles,
    }),
    mmio: z.object({ fastPath: num }),
    mmuLock: z.object({
      readAcquires: num,
      writeAcquires: num,
      contended: num,
      waitNs: z.object({ p50: num, p99: num, max: num }),
      writeHoldNs: z.object({ max: num }),
      lockBreaks: num,
      // Optional: sweep parts written before they were added hold none.
      breaksYielded: num.optional(),
      breakAcquires: num.optional(),
      breakOffMaxNs: num.optional(),
    }),
    tlb: z.object({ remoteFlushes: num, vcpuFlushes: num }),
    // Optional: sweep parts written before it was added hold none.
    sptes: z.object({ installed: num, zapped: num }).optional(),
    invalidations: z.object({ started: num, completed: num, sptesZapped: num, durationNs: percentiles }),
    // stalls, stallMaxNs optional: sweep parts written before they were added hold none.
    apic: z.object({ reloads: num, reRequests: num, stalledNs: num, stalls: num.optional(), stallMaxNs: num.optional(), requestToEntryNs: num }),
    guest: z.object({ accesses: num, entries: num, entriesCancelled: num }),
    // recycled optional: sweep parts written before the reclaim was modelled hold none.
    shadowPages: z.object({ created: num, zapped: num, peak: num, recycled: num.optional() }),
    roots: z.object({ allocated: num, freed: num, reloads: num, reloadsAfterZap: num, zappedInUse: num }),
    // validGen, validGenToggles optional: sweep parts written before they were added hold none.
    zapAll: z.object({ started: num, completed: num, maxDurationNs: num, validGen: num.optional(), validGenToggles: num.optional() }),
    // started optional: sweep parts written before it was added hold none.
    memslots: z.object({ started: num.optional(), changes: num }),
  }),
  violations: z.array(violation),
  progress: z.object({ livelock: z.boolean(), stalled: text.nullable() }),
  partial: z.boolean(),
  modelBug: text.nullable(),
  wallMs: ms,
});

const sweepFile = z.object({
  format: z.literal(SWEEP_FORMAT),
  scenario: text,
  scenarioDigest: text,
  build: text.optional(),
  mutant: text.nullable(),
  sets: z.array(text),
  maxSteps: int.min(1).nullable(),
  vary: z.record(text, z.array(z.union([text, z.number(), z.boolean()]))),
  seeds: z.array(int).min(1),
  shard: shard.nullable(),
  rows: z.array(
    z.object({
      label: text,
      settings: z.record(text, z.union([text, z.number(), z.boolean()])),
      size: z
        .object({
          vcpus: count.optional(),
          invalidations: count.optional(),
          faultsPerVcpu: count.optional(),
          dirtyLog: text.optional(),
          ringSize: count.optional(),
        })
        .optional(),
      results: z.array(runResult),
    }),
  ),
  partial: z.boolean(),
  failed: text.optional(),
  failedCell: count.optional(),
  wallMs: ms,
});

/** Fields a part written before mmulab recorded them lacks. */
const RECORDED_LATER = new Set(['scenarioDigest', 'sets', 'maxSteps']);

/** Parses and validates one part file's text; `name` (its path as given) prefixes every refusal. */
export function parseMergePart(name: string, fileText: string): MergePart {
  // One line with where the text stops being JSON (JSON.parse's message quotes the file).
  const data = parseJsonText(name, fileText);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new InputError(`${name}: expected a JSON object (the --json of mmulab sweep or check), got ${quoted(data)}`);
  }
  const format = (data as { format?: unknown }).format;
  if (format !== SWEEP_FORMAT && format !== CHECK_FORMAT) {
    const expected = `expected "${SWEEP_FORMAT}" or "${CHECK_FORMAT}" (the --json of mmulab sweep or check)`;
    throw new InputError(`${name}: format: ${isMissing(data, ['format']) ? `missing; ${expected}` : `${expected}, got ${quoted(format)}`}`);
  }
  const r = (format === CHECK_FORMAT ? checkFile : sweepFile).safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = fieldPath(issue.path);
    const missing = isMissing(data, issue.path);
    const hint = missing && issue.path.length === 1 && RECORDED_LATER.has(String(issue.path[0])) ? ' (a part written by an older mmulab: run it again)' : '';
    throw new InputError(`${name}: ${path}: ${describeIssue(issue, data)}${hint}`);
  }
  return format === CHECK_FORMAT ? { name, kind: 'check', json: data as CheckJson } : { name, kind: 'sweep', json: data as SweepResult };
}

/** `parts[0].part.entries[0][1]`. */
function fieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('');
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** A value as a refusal quotes it (never an absent one: a refusal says that a key is missing). */
const quoted = (v: unknown) => quotedValue(v, 'nothing');

/**
 * An issue in the words of a scenario's refusal (load.ts, issue-words.ts):
 * what was expected, in English, and the value found instead, or `missing;
 * expected ...` when the key is absent. A check's own message (a custom
 * issue, e.g. a shard's unit) already says both.
 */
function describeIssue(issue: z.core.$ZodIssue, data: unknown): string {
  if (issue.code === 'custom') return issue.message;
  if (issue.code === 'unrecognized_keys') return unknownKeysWords(issue.keys);
  const words = expectedWords(issue);
  return isMissing(data, issue.path) ? `missing; expected ${words}` : `expected ${words}, got ${quoted(valueAt(data, issue.path))}`;
}

/** What an issue expected, in words. */
function expectedWords(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return typeWords(issue.expected);
    case 'too_small':
      return bound(issue.origin, 'at least', issue.inclusive === false ? '>' : '>=', issue.minimum);
    case 'too_big':
      return bound(issue.origin, 'at most', issue.inclusive === false ? '<' : '<=', issue.maximum);
    case 'invalid_value':
      return `${issue.values.length > 1 ? 'one of ' : ''}${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      return 'a string, a number or a boolean';
    default:
      return issue.message;
  }
}
