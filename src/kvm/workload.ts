import { ModelBug } from '../runtime/model-bug.js';
import type { Weighted } from '../runtime/prng.js';
import type { Runtime } from '../runtime/runtime.js';

/** A vCPU's guest access pattern over [gfnStart, gfnStart + gfnCount). */
export interface PatternSpec {
  pattern: 'uniform' | 'sequential' | 'hot-set' | 'zipf';
  gfnStart: number;
  gfnCount: number;
  hotFraction: number;
  hotProbability: number;
  zipfS: number;
  writeRatio: number;
}

/** A pattern and the guest's think time after each access it draws. */
export interface AccessSpec extends PatternSpec {
  accessIntervalNs: number;
}

/**
 * A vCPU's phases (workload.phases): from starts[k] on, the accesses it draws
 * follow specs[k]. A start is a virtual time, or with byAccess a count of the
 * accesses drawn before (the checker's threads keep clocks of their own).
 */
export interface PhasePlan {
  byAccess: boolean;
  starts: readonly number[];
  specs: readonly AccessSpec[];
}

/** Whether the pattern draws each access's gfn from the run's draws (nextGfn). */
export function drawsGfn(s: PatternSpec): boolean {
  return s.gfnCount > 1 && s.pattern !== 'sequential';
}

/** The gfns of the pattern's hot set. */
function hotCountOf(s: PatternSpec): number {
  return Math.max(1, Math.floor(s.gfnCount * s.hotFraction));
}

/** The most values one of the pattern's draws for an access's gfn takes (nextGfn; 0: it draws none). */
export function largestGfnDraw(s: PatternSpec): number {
  if (!drawsGfn(s)) return 0;
  if (s.pattern !== 'hot-set') return s.gfnCount;
  const hot = hotCountOf(s);
  return Math.max(2, hot, s.gfnCount - hot);
}

/** Whether the pattern draws whether each access writes (nextWrite), a draw of 2 values. */
export function drawsWrite(s: PatternSpec): boolean {
  return s.writeRatio > 0 && s.writeRatio < 1;
}

/**
 * Draws the guest's next access from the run's random draws. A draw whose
 * outcomes are not equally likely (a write, a zipf rank, the hot set or not)
 * is a weighted draw over those outcomes, so that a search branching on
 * draws takes each of them.
 */
export class AccessPattern {
  /** The offset of a sequential walk: kept across phases, so a walk over a range that moved goes on where it was. */
  private seq = 0;
  private hotCount: number;
  /** What the pattern draws now: the base workload's, then each phase's in turn. */
  private spec: AccessSpec;
  /** Guest think time charged when an access is drawn, before it is made (the phase's once the phase has begun), ns. */
  interval: number;
  /** The phases still to come (null: none, the common case, which costs one test a draw). */
  private phases: PhasePlan | null;
  /** The next phase of `phases` to start. */
  private nextPhase = 0;
  /** Accesses drawn, counted only while phases start by access count. */
  private drawn = 0;
  /**
   * Told the phase a vCPU enters (its index in the plan, and its spec), when it
   * draws its first access of it: the vCPU emits it as an event (workloadPhase).
   * Called only on a change of phase: nothing for a workload without phases.
   */
  onPhase: ((phase: number, spec: AccessSpec, plan: PhasePlan) => void) | null = null;
  /** 1 (write) with probability writeRatio, else 0 (made at the first draw: most patterns never draw it). */
  private write: Weighted | null = null;
  /** 1 (the hot set) with probability hotProbability, else 0. */
  private hot: Weighted | null = null;
  /** A zipf rank in [0, gfnCount): rank 0 is hottest. */
  private zipfRank: Weighted | null = null;
  constructor(
    private readonly rt: Runtime,
    spec: AccessSpec,
    /** Offset for sequential patterns, so vCPUs do not walk in lockstep. */
    start: number,
    phases: PhasePlan | null = null,
  ) {
    if (!Number.isInteger(start)) throw new ModelBug(`sequential start ${start} is not a whole gfn offset`);
    this.seq = start;
    this.spec = spec;
    this.interval = spec.accessIntervalNs;
    this.hotCount = hotCountOf(spec);
    this.phases = phases !== null && phases.starts.length > 0 ? phases : null;
  }

  /** The guest's next access's gfn; drawn first of the access's draws (then nextWrite), it moves to a phase that has started. */
  nextGfn(): number {
    if (this.phases !== null) this.followPhases(this.phases);
    const s = this.spec;
    if (s.gfnCount <= 1) return s.gfnStart;
    // (drawsGfn says which patterns draw: all but sequential.)
    switch (s.pattern) {
      case 'uniform':
        return s.gfnStart + this.rt.draw(s.gfnCount);
      case 'sequential':
        return s.gfnStart + (this.seq++ % s.gfnCount);
      case 'hot-set': {
        this.hot ??= { n: 2, of: (u) => (u < s.hotProbability ? 1 : 0) };
        const hot = this.rt.drawWeighted(this.hot) === 1;
        if (hot || this.hotCount >= s.gfnCount) return s.gfnStart + this.rt.draw(this.hotCount);
        return s.gfnStart + this.hotCount + this.rt.draw(s.gfnCount - this.hotCount);
      }
      case 'zipf':
        this.zipfRank ??= { n: s.gfnCount, of: (u) => zipfRank(u, s.gfnCount, s.zipfS) };
        return s.gfnStart + this.rt.drawWeighted(this.zipfRank);
    }
  }

  /** Whether the workload has phases to come (at the start: whether it has any). */
  get phased(): boolean {
    return this.phases !== null;
  }

  /** Takes up the last phase of `p` that has started by now (a time, or the accesses drawn before this one). */
  private followPhases(p: PhasePlan): void {
    const at = p.byAccess ? this.drawn++ : this.rt.now();
    let k = this.nextPhase;
    while (k < p.starts.length && p.starts[k]! <= at) k++;
    if (k === this.nextPhase) return;
    this.nextPhase = k;
    if (k === p.starts.length) this.phases = null;
    const spec = p.specs[k - 1]!;
    this.spec = spec;
    this.interval = spec.accessIntervalNs;
    this.hotCount = hotCountOf(spec);
    // The weighted draws are the old spec's.
    this.write = this.hot = this.zipfRank = null;
    this.onPhase?.(k - 1, spec, p);
  }

  nextWrite(): boolean {
    const r = this.spec.writeRatio;
    if (!drawsWrite(this.spec)) return r >= 1;
    this.write ??= { n: 2, of: (u) => (u < r ? 1 : 0) };
    return this.rt.drawWeighted(this.write) === 1;
  }
}

/** The zipf rank of uniform u in [0, 1) over n gfns: the inverse CDF of the continuous power law on [1, n+1). */
function zipfRank(u: number, n: number, s: number): number {
  const a = 1 - s;
  const x = Math.abs(a) < 1e-9 ? Math.exp(u * Math.log(n + 1)) : ((n + 1) ** a - 1) * u + 1;
  const rank = Math.abs(a) < 1e-9 ? Math.floor(x) - 1 : Math.floor(x ** (1 / a)) - 1;
  return Math.min(n - 1, Math.max(0, rank));
}
