import { combineClaimed, figuresUpTo, type PartRecord } from './ledger.js';
import type { Shard } from './shard.js';
import type { StopReason, Summary } from './summary.js';

/** One part of a sharded exploration, as explore returns it (summary and figures by unit). */
export interface ExplorePart {
  summary: Summary;
  part: PartRecord;
}

/** Parts merged. */
export interface MergedParts {
  /** The summary the unsharded exploration gives (but wall times), when no part is missing. */
  summary: Summary;
  /** Index (in the input) of the part whose violation or model bug comes first in unit order, or null. */
  first: number | null;
  /** True when some units belong to no part (the result is partial). */
  incomplete: boolean;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Merges parts (any order) into the unsharded exploration's summary. The
 * exploration would have stopped at the first violation (or model bug) in unit
 * order, so the figures are those of every part up to that unit: what a part
 * ran past it is left out, and each part's ledger says what that was. Throws
 * a RangeError when two parts own the same units.
 */
export function mergeParts(parts: readonly ExplorePart[]): MergedParts {
  if (parts.length === 0) throw new RangeError('merge: expected at least one part');
  // Parts own residues of their count; over the lcm of the counts, every residue must be owned once.
  const L = parts.reduce((l, p) => (l / gcd(l, p.part.shard.count)) * p.part.shard.count, 1);
  let incomplete = false;
  if (L <= 1 << 20) {
    for (let r = 0; r < L; r++) {
      const owners = parts.filter((p) => r % p.part.shard.count === p.part.shard.index).length;
      if (owners > 1) throw new RangeError(`merge: units ≡ ${r} (mod ${L}) appear in more than one part`);
      if (owners === 0) incomplete = true;
    }
  }
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
  const lead = first === null ? null : parts[first]!.summary;
  const exhausted = lead === null && !incomplete && parts.every((p) => p.summary.exhausted);
  const wallMs = Math.max(...parts.map((p) => p.summary.wallMs));
  const summary: Summary = {
    strategy: parts[0]!.summary.strategy,
    executions,
    exhausted,
    stoppedBy: lead !== null ? lead.stoppedBy : exhausted ? 'exhausted' : stopReason(parts.map((p) => p.summary.stoppedBy)),
    maxDepth,
    truncated,
    redundant,
    wallMs,
    executionsPerSec: (executions * 1000) / Math.max(wallMs, 1e-3),
    firstCounterexampleMs: lead?.firstCounterexampleMs ?? null,
    violationExecution: lead?.stoppedBy !== 'violation' ? null : (lead.violationExecution ?? (incomplete ? null : executions - 1)),
  };
  return { summary, first, incomplete };
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
  };
  return { part: { summary, part }, first };
}

/** Why parts with no violation stopped, the one that matters most first. */
function stopReason(reasons: readonly StopReason[]): StopReason {
  for (const r of ['interrupted', 'time-limit', 'max-executions'] as const) if (reasons.includes(r)) return r;
  return 'exhausted';
}
