import type { Instance, Violation } from '../runtime/instance.js';
import { opKind, opKind2, opObject, opObject2, opTouches, READ, SPIN, WRITE } from '../runtime/op.js';
import { MAX_SEED } from '../runtime/prng.js';
import type { Schedule } from '../runtime/schedule.js';
import { segment, unknownKeysWords } from '../scenario/key-words.js';
import type { InstanceFactory } from './factory.js';
import { quotedValue } from './quoted-value.js';
import { ReplayStrategy } from './replay.js';
import { type RunLimits, runOnce, type SingleRun } from './run.js';

/** Largest seed a counterexample holds: what --seed and a scenario's seed take (cli/overrides.ts parseSeed, the schema's seed). */

/** A field's value as a refusal quotes it. */
const quoted = (v: unknown) => quotedValue(v, 'missing');

/** Format tag of counterexample files. */
export const CEX_FORMAT = 'mmulab-cex/3';

/**
 * The keys a counterexample file may have, at its top level and in the objects
 * replay reads, each as the writer (counterexampleOfRun) writes them: every
 * version that wrote this format wrote these, scenarioText only for a scenario
 * file, and files of before limits.spinProgress and limits.retries lack those.
 * Any other key is refused (a typo, 'sheduel' or limits.maxStep, was ignored,
 * and the file replayed as if it said nothing). The keys written for people
 * (strategy, seed, property, violation, steps) are among them; the steps'
 * contents are not read, the replay prints its own.
 */
const CEX_KEYS = {
  '': [
    'format',
    'scenario',
    'scenarioText',
    'settings',
    'mutant',
    'mutantActed',
    'seed',
    'strategy',
    'found',
    'property',
    'violation',
    'limits',
    'schedule',
    'steps',
  ],
  violation: ['kind', 'thread', 'timeNs', 'step', 'message'],
  limits: ['maxSteps', 'fairSpin', 'spinProgress', 'retries'],
  schedule: ['choices', 'draws'],
} as const;

/**
 * Refuses the keys of `o` (the object at `field`, '' for the top level) that
 * a counterexample does not have there, naming the first and listing what is
 * expected: "limits.maxStep: unknown key 'maxStep', expected one of maxSteps,
 * fairSpin, spinProgress, retries", in the scenario reader's words.
 */
function refuseUnknownKeys(o: object, field: keyof typeof CEX_KEYS): void {
  const known: readonly string[] = CEX_KEYS[field];
  const unknown = Object.keys(o).filter((k) => !known.includes(k));
  if (unknown.length === 0) return;
  const at = field === '' ? segment(unknown[0]!) : `${field}.${segment(unknown[0]!)}`.replace(/\.\[/g, '[');
  throw new TypeError(`${at}: ${unknownKeysWords(unknown, { keys: known })}`);
}

/** One step of a counterexample, in kernel terms. */
export interface CexStep {
  /** Runtime step index. */
  step: number;
  /** Name of the thread that ran it. */
  thread: string;
  /** What happened ("vCPU1: snapshot mmu_invalidate_seq=4"). */
  text: string;
}

/** What a counterexample's `strategy` names: check's strategies, and replay's for one written from a --schedule. */
export const CEX_STRATEGIES = ['dfs', 'pct', 'random', 'replay'] as const;

/** Where a counterexample comes from: enough to rebuild the model it ran on. */
export interface CexOrigin {
  /** Scenario name or file. */
  scenario: string;
  /**
   * The scenario file's text, when the scenario is a file rather than a
   * built-in: the counterexample then replays anywhere, whatever became of
   * the file (a bug report's reader does not have it).
   */
  scenarioText?: string;
  /** Scenario settings given on the command line (k=v), as parsed. */
  settings: Record<string, unknown>;
  /** The mutant applied, or null. */
  mutant: string | null;
  /** Seed of the run. */
  seed: number;
  /** Strategy that found it. */
  strategy: string;
}

/** A counterexample file: replaying `schedule` on the model built from the origin reproduces `violation`. */
export interface Counterexample extends CexOrigin {
  /** Always CEX_FORMAT. */
  format: typeof CEX_FORMAT;
  /**
   * With a mutant: how many times it made the model depart from the kernel's
   * protocol in this execution (written since it was counted; not read by
   * replay). 0: the violation is the protocol's own, the mutant did not act.
   */
  mutantActed?: number;
  /**
   * Written by a check --shard part (i/n, n > 1): the part that found it and the execution it found
   * it at (summary.violationExecution), for merge to tell whether a file shared by parts is the
   * counterexample it reports. Not read by replay. No execution for a dfs part: it numbers only the
   * executions of the subtrees it owns, a count no other run has (its violationExecution is null).
   */
  found?: { shard: string; execution?: number };
  /** The property violated (the violation's kind). */
  property: string;
  /** The violation, as the replay reports it. */
  violation: Violation;
  /** Checker limits the replay needs to see the same thing (livelock detection depends on them). */
  limits: RunLimits;
  /** Thread choices and draws. */
  schedule: Schedule;
  /** The interleaving, from the model's step log (or, without one, the ops announced). */
  steps: CexStep[];
}

/**
 * Replays `schedule` with the step log on and builds the counterexample. Throws
 * a ReplayDivergence if the schedule does not fit the model, and an Error if
 * the replay throws or ends without a violation.
 */
export function buildCounterexample(factory: InstanceFactory, origin: CexOrigin, schedule: Schedule, limits: RunLimits): Counterexample {
  return counterexampleOfRun(origin, runOnce(factory, new ReplayStrategy(schedule), limits, true), limits);
}

/** The counterexample a run with the log on shows; throws its error if the model broke, an Error if it violated nothing. */
export function counterexampleOfRun(origin: CexOrigin, r: SingleRun, limits: RunLimits): Counterexample {
  if (r.outcome === 'model-bug') throw r.error;
  if (r.violation === null) throw new Error(`counterexample: the replay ended (${r.outcome}) without a violation`);
  return {
    format: CEX_FORMAT,
    scenario: origin.scenario,
    ...(origin.scenarioText !== undefined ? { scenarioText: origin.scenarioText } : {}),
    settings: origin.settings,
    mutant: origin.mutant,
    ...(origin.mutant !== null && r.instance.mutation !== undefined ? { mutantActed: r.instance.mutation.acted } : {}),
    seed: origin.seed,
    strategy: origin.strategy,
    property: r.violation.kind,
    violation: r.violation,
    limits: { maxSteps: limits.maxSteps, fairSpin: limits.fairSpin, spinProgress: limits.spinProgress ?? 'footprint', retries: limits.retries ?? 'deferred' },
    schedule: { choices: r.schedule.choices, draws: r.schedule.draws },
    steps: stepsOf(r),
  };
}

/** The steps of a run: its log lines, or, when the model logs nothing, each step's announced op. */
export function stepsOf(r: SingleRun): CexStep[] {
  const rt = r.instance.rt;
  const name = (id: number) => rt.threads[id]?.name ?? `thread${id}`;
  const logged = loggedSteps(r.instance);
  if (logged.length > 0) return logged;
  return r.schedule.choices.map((id, i) => ({
    step: i,
    thread: name(id),
    text: `${name(id)}: ${describeOp(r.ops[i] ?? 3, rt.objects.names)}`,
  }));
}

/** The steps an instance's log holds so far (none when it logs nothing): an execution cut short keeps them. */
export function loggedSteps(instance: Instance): CexStep[] {
  const rt = instance.rt;
  const log = instance.log;
  if (log === null) return [];
  return log.map((l) => ({ step: l.step, thread: rt.threads[l.thread]?.name ?? `thread${l.thread}`, text: l.text }));
}

/** An op in words: "write mmu_lock", "read a, b", "shared update of kvm->srcu", "spin", "local". */
export function describeOp(op: number, names: readonly string[]): string {
  const k = opKind(op);
  if (k === SPIN) return 'spin (retry)';
  if (!opTouches(op)) return 'local work';
  const o2 = opObject2(op);
  const obj = (o: number) => names[o] ?? `object${o}`;
  const access = (kind: number) => (kind === WRITE ? 'write' : kind === READ ? 'read' : 'shared update of');
  if (o2 < 0) return `${access(k)} ${obj(opObject(op))}`;
  const k2 = opKind2(op);
  return k2 === k ? `${access(k)} ${obj(opObject(op))}, ${obj(o2)}` : `${access(k)} ${obj(opObject(op))}, ${access(k2)} ${obj(o2)}`;
}

/**
 * A kind of step: "thread: op" with the numbers in names generalised to #
 * (vCPU#: write spte[#]), so that the steps of symmetric threads on
 * symmetric objects fall in one kind.
 */
export function describeStepKind(thread: string, op: number, names: readonly string[]): string {
  return `${thread}: ${describeOp(op, names)}`.replace(/0x[0-9a-f]+|\d+/g, '#');
}

/**
 * The interleaving as numbered lines, then the violation:
 *   1. vCPU1: snapshot mmu_invalidate_seq=4
 *   ...
 *   => stale-translation (vCPU1): ...
 */
export function formatInterleaving(cex: Counterexample): string {
  const lines = numberedSteps(cex.steps);
  lines.push(`=> ${cex.property}${cex.violation.thread ? ` (${cex.violation.thread})` : ''}: ${cex.violation.message}`);
  return lines.join('\n');
}

/** The steps as check prints them, numbered from 1 ("12. vCPU0: ..."): the numbers the interleaving's events go by. */
export function numberedSteps(steps: readonly CexStep[]): string[] {
  const width = String(steps.length).length;
  return steps.map((s, i) => {
    const text = s.text.startsWith(`${s.thread}:`) ? s.text : `${s.thread}: ${s.text}`;
    return `${String(i + 1).padStart(width)}. ${text}`;
  });
}

/**
 * Checks the shape of a parsed counterexample file; throws a TypeError naming
 * the first bad field, its value and what was expected, on one line
 * ("schedule.choices[0]: -1, expected a whole number >= 0").
 */
export function parseCounterexample(json: unknown): Counterexample {
  const o = json as Record<string, unknown>;
  /** Refuses `field` unless `ok`, quoting its value (`value`, or the field's own). */
  const need = (ok: boolean, field: string, expected: string, value: unknown = o?.[field]) => {
    if (!ok) throw new TypeError(`${field}: ${quoted(value)}, expected ${expected}`);
  };
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw new TypeError(`(top level): ${quoted(o)}, expected a JSON object (a counterexample mmulab check wrote)`);
  }
  if (o.format === 'mmulab-check/1') {
    // A check's --json summary, given where its --out was meant.
    const cex = typeof o.counterexample === 'string' ? `its counterexample is ${o.counterexample}` : 'it found no counterexample';
    throw new TypeError(`counterexample: this is the summary mmulab check writes with --json (format "mmulab-check/1"), not a counterexample; ${cex}`);
  }
  if (o.format !== CEX_FORMAT) {
    // Schedules name every choice; another format's choices are not this checker's.
    throw new TypeError(
      `counterexample: field 'format' is ${quoted(o.format)}, expected "${CEX_FORMAT}" (written by another version of mmulab, whose schedules this one cannot replay)`,
    );
  }
  refuseUnknownKeys(o, '');
  need(typeof o.scenario === 'string', 'scenario', "a scenario's name or file (a string)");
  need(o.scenarioText === undefined || typeof o.scenarioText === 'string', 'scenarioText', "the scenario file's text (a string), or no field");
  need(typeof o.settings === 'object' && o.settings !== null && !Array.isArray(o.settings), 'settings', 'an object of settings ({} for none)');
  need(o.mutant === null || typeof o.mutant === 'string', 'mutant', "null or a mutant's name (a string)");
  // Written with a mutant: how often it acted in the execution (0 when the violation is the protocol's own). A file
  // edited to mutant null ("does the fix hold?") keeps it; replay does not read it.
  need(
    o.mutantActed === undefined || (Number.isSafeInteger(o.mutantActed) && (o.mutantActed as number) >= 0),
    'mutantActed',
    'a whole number >= 0, or no field',
  );
  // Written by a check --shard part: which part found it, and at which execution, none for a dfs part (merge reads it; replay does not).
  // An execution null is an older mmulab's dfs part's.
  const found = o.found as { shard?: unknown; execution?: unknown } | undefined;
  need(
    found === undefined ||
      (typeof found === 'object' &&
        found !== null &&
        typeof found.shard === 'string' &&
        (Object.keys(found).length === 1 || ((found.execution === null || Number.isSafeInteger(found.execution)) && Object.keys(found).length === 2))),
    'found',
    'the part that found it, {"shard": "i/n"} and, but for a dfs part, "execution": a whole number, or no field',
  );
  need(
    typeof o.strategy === 'string' && (CEX_STRATEGIES as readonly string[]).includes(o.strategy),
    'strategy',
    `the strategy that found it: ${CEX_STRATEGIES.map((x) => `"${x}"`).join(', ')}`,
  );
  need(
    Number.isInteger(o.seed) && (o.seed as number) >= 0 && (o.seed as number) <= MAX_SEED,
    'seed',
    `a whole number from 0 to ${MAX_SEED} (what --seed takes)`,
  );
  const v = o.violation as Record<string, unknown>;
  need(typeof v === 'object' && v !== null && !Array.isArray(v), 'violation', 'an object with kind and message (strings)');
  refuseUnknownKeys(v, 'violation');
  need(typeof v.kind === 'string', 'violation.kind', 'a string (the property violated)', v.kind);
  need(typeof v.message === 'string', 'violation.message', 'a string', v.message);
  // The property is the violation's kind (an edit of one alone is not a counterexample this checker wrote).
  need(o.property === v.kind, 'property', `the violation's kind (${quoted(v.kind)}, violation.kind)`);
  const s = o.schedule as Record<string, unknown>;
  need(typeof s === 'object' && s !== null && !Array.isArray(s), 'schedule', 'an object with choices and draws (arrays of whole numbers >= 0)');
  refuseUnknownKeys(s, 'schedule');
  for (const key of ['choices', 'draws'] as const) {
    const list = s[key];
    need(Array.isArray(list), `schedule.${key}`, 'an array of whole numbers >= 0', list);
    const bad = (list as unknown[]).findIndex((x) => !(Number.isSafeInteger(x) && (x as number) >= 0));
    need(bad < 0, `schedule.${key}[${bad}]`, 'a whole number >= 0', (list as unknown[])[bad]);
  }
  const l = o.limits as Record<string, unknown>;
  need(typeof l === 'object' && l !== null && !Array.isArray(l), 'limits', 'an object with maxSteps, fairSpin, spinProgress and retries');
  refuseUnknownKeys(l, 'limits');
  need(typeof l.fairSpin === 'boolean', 'limits.fairSpin', 'true or false', l.fairSpin);
  need(Number.isSafeInteger(l.maxSteps) && (l.maxSteps as number) >= 1, 'limits.maxSteps', 'a whole number >= 1', l.maxSteps);
  // The check ran every step of the schedule within its maxSteps: a smaller one (an edit) would cut the replay short of the
  // recorded steps, which it refused at the schedule, the field not edited ('the execution ended (truncated) after 5 steps').
  const length = (s.choices as unknown[]).length;
  need(
    (l.maxSteps as number) >= length,
    'limits.maxSteps',
    `a whole number >= ${length}, the schedule's length (the check ran all of its steps within limits.maxSteps)`,
    l.maxSteps,
  );
  need(
    l.spinProgress === undefined || l.spinProgress === 'footprint' || l.spinProgress === 'any-write',
    'limits.spinProgress',
    '"footprint" or "any-write", or no field',
    l.spinProgress,
  );
  need(
    l.retries === undefined || l.retries === 'deferred' || l.retries === 'interleaved',
    'limits.retries',
    '"deferred" or "interleaved", or no field',
    l.retries,
  );
  // Counterexamples written before the rule existed retried at any point.
  if (l.retries === undefined) l.retries = 'interleaved';
  need(Array.isArray(o.steps), 'steps', 'an array of the steps');
  return o as unknown as Counterexample;
}

/** Replays a counterexample and tells whether it still violates the same property. */
export function replayCounterexample(factory: InstanceFactory, cex: Counterexample): { same: boolean; replayed: Counterexample } {
  const replayed = buildCounterexample(factory, cex, cex.schedule, cex.limits);
  return { same: replayed.property === cex.property, replayed };
}
