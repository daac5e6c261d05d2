import { ownedBelow, type Shard } from './shard.js';
import type { Summary } from './summary.js';

/**
 * A unit's figures, kept only when they are not the common case (one
 * execution, not cut, no deeper than the units before it), so that a part of
 * millions of random executions keeps a handful: [unit, executions, maxDepth,
 * truncated, redundant].
 */
export type LedgerEntry = [number, number, number, number, number];

/** The figures of a part up to some unit. */
export interface Figures {
  executions: number;
  maxDepth: number;
  truncated: number;
  redundant: number;
}

/** What a part of an exploration records so that parts can be merged into the unsharded figures. */
export interface PartRecord {
  /** The part (0/1 when unsharded). */
  shard: Shard;
  /** Highest unit begun, or -1. */
  lastUnit: number;
  /** Unit whose execution violated a property (or made the model throw), or null. */
  stopUnit: number | null;
  /** Units that differ from the common case, in unit order. */
  entries: LedgerEntry[];
}

/**
 * Keeps a part's figures per unit, as the part runs its units in increasing
 * order. Merging needs the figures up to the unit of the first violation in
 * the unsharded order, which another part may find after this one has gone
 * past it; so the figures are kept by unit rather than only summed.
 */
export class Ledger {
  private readonly entries: LedgerEntry[] = [];
  /** The unit being counted, or -1. */
  private unit = -1;
  private open = false;
  private executions = 0;
  private depth = 0;
  private truncated = 0;
  private redundant = 0;
  /** Deepest execution of the units already closed. */
  private deepest = 0;

  /**
   * `every`: keep every unit, the common case too. A part whose units are
   * handed out on demand (claims.ts) cannot leave them implicit, since which
   * units it owns is known only afterwards; see combineClaimed.
   */
  constructor(private readonly every = false) {}

  /** Counts one execution of `unit` (units come in increasing order). */
  add(unit: number, depth: number, outcome: string): void {
    if (unit !== this.unit) this.begin(unit);
    this.executions++;
    if (depth > this.depth) this.depth = depth;
    if (outcome === 'truncated') this.truncated++;
    else if (outcome === 'redundant') this.redundant++;
  }

  /** Counts a whole unit at once (after the units before it). */
  addUnit([unit, executions, depth, truncated, redundant]: LedgerEntry): void {
    this.begin(unit);
    this.executions = executions;
    this.depth = depth;
    this.truncated = truncated;
    this.redundant = redundant;
  }

  private begin(unit: number): void {
    this.close();
    this.unit = unit;
    this.open = true;
  }

  private close(): void {
    if (!this.open) return;
    this.open = false;
    if (this.every || this.executions !== 1 || this.truncated !== 0 || this.redundant !== 0 || this.depth > this.deepest) {
      this.entries.push([this.unit, this.executions, this.depth, this.truncated, this.redundant]);
    }
    if (this.depth > this.deepest) this.deepest = this.depth;
    this.executions = 0;
    this.depth = 0;
    this.truncated = 0;
    this.redundant = 0;
  }

  /** The record of the part so far. */
  record(shard: Shard, stopUnit: number | null): PartRecord {
    this.close();
    return { shard, lastUnit: this.unit, stopUnit, entries: this.entries.map((e) => [...e] as LedgerEntry) };
  }
}

/**
 * The record of `shard` that parts which took its units on demand (each
 * keeping every unit it ran, see Ledger) add up to: the one a single part
 * running all of the shard's units in order keeps, whoever ran which. It is
 * cut at the first unit where a part stopped (what ran past it depends on
 * timing, and no merge counts it). A unit nobody ran (taken by a part that
 * then hit a limit) counts no execution.
 */
export function combineClaimed(records: readonly PartRecord[], shard: Shard): PartRecord {
  const stops = records.flatMap((r) => (r.stopUnit === null ? [] : [r.stopUnit]));
  const stopUnit = stops.length === 0 ? null : Math.min(...stops);
  const cut = stopUnit ?? Number.POSITIVE_INFINITY;
  const ran = new Map<number, LedgerEntry>();
  for (const r of records) for (const e of r.entries) if (e[0] <= cut) ran.set(e[0], e);
  const last = Math.max(-1, ...ran.keys());
  const ledger = new Ledger();
  for (let u = shard.index; u <= last; u += shard.count) ledger.addUnit(ran.get(u) ?? [u, 0, 0, 0, 0]);
  return ledger.record(shard, stopUnit);
}

/** A part's figures over its units up to and including `upTo` (Infinity: all). */
export function figuresUpTo(p: PartRecord, upTo: number): Figures {
  const last = Math.min(upTo, p.lastUnit);
  let executions = last < 0 ? 0 : ownedBelow(p.shard, last + 1);
  let maxDepth = 0;
  let truncated = 0;
  let redundant = 0;
  for (const [u, ex, d, tr, re] of p.entries) {
    if (u > upTo) break;
    executions += ex - 1;
    if (d > maxDepth) maxDepth = d;
    truncated += tr;
    redundant += re;
  }
  return { executions, maxDepth, truncated, redundant };
}

/**
 * `p` with all its figures in one entry, at its last unit: the same figures
 * in all, and up to its stop unit (its last), but none kept by unit before
 * that. For parts whose split of the executions between units depends on
 * timing while their sum does not (dfs parts sharing explored states).
 */
export function oneEntry(p: PartRecord): PartRecord {
  if (p.lastUnit < 0) return p;
  const f = figuresUpTo(p, Number.POSITIVE_INFINITY);
  const units = ownedBelow(p.shard, p.lastUnit + 1);
  return { ...p, entries: [[p.lastUnit, f.executions - units + 1, f.maxDepth, f.truncated, f.redundant]] };
}

/**
 * The record of an unsharded exploration as one unit holding all its figures:
 * for one that runs in phases, each of which numbers its units from 0 (the
 * levels of an iterative preemption bound, which cannot be split into parts).
 * Its unit is the stop unit when it ended at a violation or a model bug.
 */
export function oneUnit(s: Figures & Pick<Summary, 'stoppedBy'>): PartRecord {
  const shard = { index: 0, count: 1 };
  if (s.executions === 0) return { shard, lastUnit: -1, stopUnit: null, entries: [] };
  const stopped = s.stoppedBy === 'violation' || s.stoppedBy === 'model-bug';
  return { shard, lastUnit: 0, stopUnit: stopped ? 0 : null, entries: [[0, s.executions, s.maxDepth, s.truncated, s.redundant]] };
}
