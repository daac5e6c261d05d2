import { ownedBelow, type Shard } from './shard.js';

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
  private unit = -1;
  private executions = 0;
  private depth = 0;
  private truncated = 0;
  private redundant = 0;
  /** Deepest execution of the units already closed. */
  private deepest = 0;

  /** Counts one execution of `unit` (units come in increasing order). */
  add(unit: number, depth: number, outcome: string): void {
    if (unit !== this.unit) {
      this.close();
      this.unit = unit;
    }
    this.executions++;
    if (depth > this.depth) this.depth = depth;
    if (outcome === 'truncated') this.truncated++;
    else if (outcome === 'redundant') this.redundant++;
  }

  private close(): void {
    if (this.unit < 0 || this.executions === 0) return;
    if (this.executions !== 1 || this.truncated !== 0 || this.redundant !== 0 || this.depth > this.deepest) {
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
