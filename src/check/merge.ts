import { combineClaimed, figuresUpTo, Ledger, type LedgerEntry, type PartRecord } from './ledger.js';
import type { Shard } from './shard.js';
import type { StopReason, Summary } from './summary.js';

/** One part of a sharded exploration, as explore returns it (summary and figures by unit). */
export interface ExplorePart {
  summary: Summary;
  part: PartRecord;
}

/**
 * Why a merged result is partial: units no part holds, or a part cut short
 * (time limit, SIGINT, a dfs budget) before units the result needs.
 */
export type MergeGap =
  /** Units belong to no part: `units` the lowest few of them (empty when none lies among the first MISSING_SCAN units). */
  | { kind: 'missing'; units: number[] }
  /** Part `part` (its index in the input) stopped by `stoppedBy` with units it owns not run, the first of them `from`. */
  | { kind: 'cut'; part: number; stoppedBy: StopReason; from: number };

/** Parts merged. */
export interface MergedParts {
  /** The summary the unsharded exploration gives (but wall times), when not partial. */
  summary: Summary;
  /** Index (in the input) of the part whose violation or model bug comes first in unit order, or null. */
  first: number | null;
  /** True when some units belong to no part (the result is partial when one of them comes before the first stop). */
  incomplete: boolean;
  /**
   * True when the summary is not the unsharded one: with a violation (or
   * model bug), units before its unit that no part ran; without, units no part
   * ran at all, or a part stopped by a time limit or SIGINT. The violation is
   * then one the unsharded run may not come to first (violationExecution null).
   */
  partial: boolean;
  /** Why partial, each gap once (empty when not partial). */
  gaps: MergeGap[];
  /**
   * The parts in the input's order, each as it would be had it known of the
   * first stop from the start (see cutAtFirstStop): what the file records of
   * them, the same however the parts' timing went.
   */
  parts: ExplorePart[];
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** How many units from 0 a merge looks through for ones no part holds. */
const MISSING_SCAN = 1 << 20;

/**
 * Which units the parts hold, by count: part i/n holds the units ≡ i (mod n).
 * Two parts overlap when their indices agree modulo the gcd of their counts
 * (Chinese remainder theorem); parts that do not overlap hold every unit when
 * their shares (1/n each) add up to 1.
 */
class Holdings {
  /** count → index → the part (its position in the input) with that shard. */
  private readonly byCount = new Map<number, Map<number, number>>();
  /** True when every unit is held. */
  readonly complete: boolean;

  /** Throws a PartsOverlap when two parts hold a unit in common. */
  constructor(shards: readonly Shard[]) {
    shards.forEach((s, i) => {
      const parts = this.byCount.get(s.count) ?? new Map<number, number>();
      const other = parts.get(s.index);
      if (other !== undefined) throw new PartsOverlap(other, i, shards);
      parts.set(s.index, i);
      this.byCount.set(s.count, parts);
    });
    const groups = [...this.byCount];
    groups.forEach(([a, as], k) => {
      for (const [b, bs] of groups.slice(k + 1)) {
        const g = gcd(a, b);
        const seen = new Map<number, number>();
        for (const [x, i] of as) seen.set(x % g, i);
        for (const [y, j] of bs) {
          const i = seen.get(y % g);
          if (i !== undefined) throw new PartsOverlap(i, j, shards);
        }
      }
    });
    // Σ 1/n over the parts, exactly: Σ L/n against L, L the lcm of the counts.
    const L = groups.reduce((l, [n]) => (l / gcdBig(l, BigInt(n))) * BigInt(n), 1n);
    this.complete = groups.reduce((sum, [n, parts]) => sum + (L / BigInt(n)) * BigInt(parts.size), 0n) === L;
  }

  /** True when some part holds unit `u`. */
  holds(u: number): boolean {
    for (const [n, parts] of this.byCount) if (parts.has(u % n)) return true;
    return false;
  }

  /** Up to `most` units below `below` that no part holds, lowest first (none when complete; looks through at most MISSING_SCAN units). */
  missing(below: number, most: number): number[] {
    const out: number[] = [];
    if (this.complete) return out;
    const end = Math.min(below, MISSING_SCAN);
    for (let u = 0; u < end && out.length < most; u++) if (!this.holds(u)) out.push(u);
    return out;
  }
}

const gcdBig = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcdBig(b, a % b));

/** Two parts (positions `a` < `b` in the input) hold units in common: the same part given twice, or parts of different splits. */
export class PartsOverlap extends RangeError {
  constructor(
    readonly a: number,
    readonly b: number,
    shards: readonly Shard[],
  ) {
    const [s, t] = [shards[a]!, shards[b]!];
    super(`merge: parts ${s.index}/${s.count} and ${t.index}/${t.count} hold units in common (units appear in more than one part)`);
  }
}

/** The lowest unit above `after` that `shard` owns. */
function nextOwned(shard: Shard, after: number): number {
  if (after === Number.POSITIVE_INFINITY) return after;
  const v = after + 1;
  return v + ((((shard.index - v) % shard.count) + shard.count) % shard.count);
}

/** The highest unit up to `u` that `shard` owns, or -1. */
function lastOwned(shard: Shard, u: number): number {
  const v = u - ((((u - shard.index) % shard.count) + shard.count) % shard.count);
  return v < 0 ? -1 : v;
}

/**
 * The highest unit through which a part is known to have run every unit it
 * owns (Infinity: all it had to). A part that ended on its own (exhausted,
 * a violation or model bug, another part's earlier stop, or for random and
 * pct the executions below --max-executions, which bound the whole) ran them
 * all. One cut short (time limit, SIGINT, a dfs budget) ran random and pct
 * executions through its last (the clock is read between executions), but
 * may have left any dfs subtree it began unfinished (its workers take them on
 * demand), so none of those counts as run.
 */
function ranThrough(p: ExplorePart, unitsAreExecutions: boolean): number {
  switch (p.summary.stoppedBy) {
    case 'exhausted':
    case 'violation':
    case 'model-bug':
    case 'elsewhere':
      return Number.POSITIVE_INFINITY;
    case 'max-executions':
      return unitsAreExecutions ? Number.POSITIVE_INFINITY : -1;
    case 'time-limit':
    case 'interrupted':
    case 'parts-missing':
      return unitsAreExecutions ? p.part.lastUnit : -1;
  }
}

/**
 * Merges parts (any order) into the unsharded exploration's summary. The
 * exploration would have stopped at the first violation (or model bug) in unit
 * order, so the figures are those of every part up to that unit: what a part
 * ran past it is left out, and each part's ledger says what that was. That
 * violation is the unsharded run's first only when every unit before it was
 * run: otherwise the result is partial and violationExecution null. Throws a
 * RangeError when two parts own the same units.
 * `unitsAreExecutions`: units are single executions (random, pct), not dfs
 * subtrees; by default, as the first part's strategy says.
 */
export function mergeParts(parts: readonly ExplorePart[], unitsAreExecutions = ['random', 'pct'].includes(parts[0]?.summary.strategy ?? '')): MergedParts {
  if (parts.length === 0) throw new RangeError('merge: expected at least one part');
  const held = new Holdings(parts.map((p) => p.part.shard));
  const incomplete = !held.complete;
  let first: number | null = null;
  parts.forEach((p, i) => {
    const u = p.part.stopUnit;
    if (u !== null && (first === null || u < parts[first]!.part.stopUnit!)) first = i;
  });
  const upTo = first === null ? Number.POSITIVE_INFINITY : parts[first]!.part.stopUnit!;
  let executions = 0;
  let maxDepth = 0;
  let truncated = 0;
  let redundant = 0;
  for (const p of parts) {
    const f = figuresUpTo(p.part, upTo);
    executions += f.executions;
    maxDepth = Math.max(maxDepth, f.maxDepth);
    truncated += f.truncated;
    redundant += f.redundant;
  }
  // What the result does not know: units below upTo no part holds, or that a part did not run.
  const gaps: MergeGap[] = [];
  if (incomplete) {
    // Below the first stop, a unit no part holds leaves the result unknown; the scan's end counts as one.
    const units = held.missing(upTo, 4);
    if (units.length > 0 || upTo > MISSING_SCAN) gaps.push({ kind: 'missing', units });
  }
  parts.forEach((p, i) => {
    const from = nextOwned(p.part.shard, ranThrough(p, unitsAreExecutions));
    const cut = first === null ? p.summary.stoppedBy === 'time-limit' || p.summary.stoppedBy === 'interrupted' : from < upTo;
    if (cut) gaps.push({ kind: 'cut', part: i, stoppedBy: p.summary.stoppedBy, from });
  });
  const partial = gaps.length > 0;
  const cutParts = parts.map((p, i) => (i === first ? p : cutAtFirstStop(p, upTo, unitsAreExecutions)));
  const lead = first === null ? null : parts[first]!.summary;
  const exhausted = lead === null && !incomplete && parts.every((p) => p.summary.exhausted);
  const reasons = parts.map((p) => p.summary.stoppedBy);
  const wallMs = Math.max(...parts.map((p) => p.summary.wallMs));
  const summary: Summary = {
    strategy: parts[0]!.summary.strategy,
    executions,
    exhausted,
    stoppedBy: lead?.stoppedBy ?? (exhausted ? 'exhausted' : stopReason(reasons, incomplete)),
    maxDepth,
    truncated,
    redundant,
    wallMs,
    executionsPerSec: (executions * 1000) / Math.max(wallMs, 1e-3),
    firstCounterexampleMs: lead?.firstCounterexampleMs ?? null,
    violationExecution: lead?.stoppedBy !== 'violation' || partial ? null : (lead.violationExecution ?? executions - 1),
    ...(lead === null ? actedSum(parts) : {}),
  };
  return { summary, first, incomplete, partial, gaps, parts: cutParts };
}

/**
 * Part `p` (not the one that stopped first) as it records itself when it
 * knows from the start that the exploration ends at unit `upTo`: stopped at
 * its first unit past it ('elsewhere'), its figures and ledger cut there.
 * Parts side by side learn of another's violation only when it is found, so
 * one may have run past it, or stopped at a violation of its own that comes
 * later (random, --workers 2: part 0 ran 7 executions to its violation in
 * unit 12 in some runs, and stopped after 5 at unit 8, elsewhere, in others,
 * part 1's violation being in unit 9); a part run alone as a --shard runs to
 * its own end. Cut, every run and the merge of the shards give one record.
 * A part that did not come past `upTo`, or is not known to have run every
 * unit it owns up to it (cut short first: see ranThrough, and the merge's
 * gaps), is left as it is.
 */
function cutAtFirstStop(p: ExplorePart, upTo: number, unitsAreExecutions: boolean): ExplorePart {
  if (upTo === Number.POSITIVE_INFINITY) return p;
  const s = p.part.shard;
  const past = p.summary.stoppedBy === 'elsewhere' || p.part.stopUnit !== null || p.part.lastUnit >= nextOwned(s, upTo);
  if (!past || ranThrough(p, unitsAreExecutions) < upTo) return p;
  const f = figuresUpTo(p.part, upTo);
  // How many of the executions up to upTo the mutant acted in, the part does not know (its count is of all it ran).
  const { mutantActedExecutions: _, ...kept } = p.summary;
  return {
    summary: {
      ...kept,
      executions: f.executions,
      exhausted: false,
      stoppedBy: 'elsewhere',
      maxDepth: f.maxDepth,
      truncated: f.truncated,
      redundant: f.redundant,
      executionsPerSec: f.executions === p.summary.executions ? p.summary.executionsPerSec : (f.executions * 1000) / Math.max(p.summary.wallMs, 1e-3),
      firstCounterexampleMs: null,
      violationExecution: null,
    },
    part: {
      shard: s,
      lastUnit: Math.min(p.part.lastUnit, lastOwned(s, upTo)),
      stopUnit: null,
      entries: p.part.entries.filter(([u]) => u <= upTo).map((e) => [...e] as LedgerEntry),
    },
  };
}

/**
 * Parts that took `shard`'s units on demand (claims.ts), made into the one
 * part that running them all in order gives (see combineClaimed): its summary
 * and record do not depend on which part ran which unit. `first` is the index
 * of the part whose violation or model bug comes first, or null.
 */
export function mergeClaimed(parts: readonly ExplorePart[], shard: Shard): { part: ExplorePart; first: number | null } {
  const part = combineClaimed(
    parts.map((p) => p.part),
    shard,
  );
  const first = part.stopUnit === null ? null : parts.findIndex((p) => p.part.stopUnit === part.stopUnit);
  const lead = first === null ? null : parts[first]!.summary;
  const f = figuresUpTo(part, Number.POSITIVE_INFINITY);
  const exhausted = lead === null && parts.every((p) => p.summary.exhausted);
  const wallMs = Math.max(...parts.map((p) => p.summary.wallMs));
  const summary: Summary = {
    // The keys in explore's order, so that the JSON is the single part's byte for byte.
    strategy: parts[0]!.summary.strategy,
    executions: f.executions,
    exhausted,
    stoppedBy: lead !== null ? lead.stoppedBy : exhausted ? 'exhausted' : stopReason(parts.map((p) => p.summary.stoppedBy)),
    maxDepth: f.maxDepth,
    truncated: f.truncated,
    redundant: f.redundant,
    wallMs,
    executionsPerSec: (f.executions * 1000) / Math.max(wallMs, 1e-3),
    firstCounterexampleMs: lead?.firstCounterexampleMs ?? null,
    // Only the whole knows how many executions came before (as for a dfs part of a shard).
    violationExecution: lead?.stoppedBy === 'violation' && shard.count === 1 ? f.executions - 1 : null,
    ...(lead === null ? actedSum(parts) : {}),
  };
  return { part: { summary, part }, first };
}

/**
 * Striped parts (random, pct: each owns every k-th execution, k workers or
 * shards) merged by mergeParts into the one part a single worker running
 * `shard`'s executions in order records: the same ledger, and so the same
 * JSON, for any number of workers or shards. Null when the parts leave a hole
 * below the last execution run (a part missing, or cut short by a time limit
 * or SIGINT), which one part's record cannot say.
 */
export function combineStriped(merged: MergedParts, shard: Shard): ExplorePart | null {
  if (merged.partial || merged.incomplete) return null;
  const records = merged.parts.map((p) => p.part);
  const last = Math.max(-1, ...records.map((r) => r.lastUnit));
  // Each part ran every execution it owns up to its last; none owns one below `last` that it did not run.
  if (records.some((r) => nextOwned(r.shard, r.lastUnit) <= last)) return null;
  const stops = records.flatMap((r) => (r.stopUnit === null ? [] : [r.stopUnit]));
  // One Ledger, given the units the parts kept in order, keeps what one worker's keeps: an execution a part left
  // out was no deeper than one before it there, so none here either. The last unit closes the record, common or not.
  const ledger = new Ledger();
  const entries = records.flatMap((r) => r.entries).sort((a, b) => a[0] - b[0]);
  for (const e of entries) ledger.addUnit(e);
  if (last >= 0 && entries[entries.length - 1]?.[0] !== last) ledger.addUnit([last, 1, 0, 0, 0]);
  return { summary: merged.summary, part: ledger.record(shard, stops.length === 0 ? null : Math.min(...stops)) };
}

/**
 * The summaries' counts of executions their mutant acted in, summed (the
 * unsharded run's, when no part stopped at a violation or a model bug and so
 * each ran all it had to); nothing when none has one (no mutant). With a stop,
 * the merges leave it out: a part's count may hold executions past the first
 * stop, which the merged figures do not.
 */
export function actedSum(parts: readonly { summary: Summary }[]): Pick<Summary, 'mutantActedExecutions'> {
  if (parts.every((p) => p.summary.mutantActedExecutions === undefined)) return {};
  return { mutantActedExecutions: parts.reduce((n, p) => n + (p.summary.mutantActedExecutions ?? 0), 0) };
}

/** Why parts with no violation stopped, the one that matters most first; parts missing (`incomplete`) are never 'exhausted'. */
function stopReason(reasons: readonly StopReason[], incomplete = false): StopReason {
  for (const r of ['interrupted', 'time-limit', 'max-executions'] as const) if (reasons.includes(r)) return r;
  return incomplete ? 'parts-missing' : 'exhausted';
}
