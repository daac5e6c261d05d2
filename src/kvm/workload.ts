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
  private seq = 0;
  private readonly hotCount: number;
  /** 1 (write) with probability writeRatio, else 0 (made at the first draw: most patterns never draw it). */
  private write: Weighted | null = null;
  /** 1 (the hot set) with probability hotProbability, else 0. */
  private hot: Weighted | null = null;
  /** A zipf rank in [0, gfnCount): rank 0 is hottest. */
  private zipfRank: Weighted | null = null;
  constructor(
    private readonly rt: Runtime,
    private readonly spec: PatternSpec,
    /** Offset for sequential patterns, so vCPUs do not walk in lockstep. */
    start: number,
  ) {
    if (!Number.isInteger(start)) throw new ModelBug(`sequential start ${start} is not a whole gfn offset`);
    this.seq = start;
    this.hotCount = hotCountOf(spec);
  }

  nextGfn(): number {
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
