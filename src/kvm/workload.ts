import { ModelBug } from '../runtime/model-bug.js';
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

const UNIT = 1 << 30;

/** Whether the pattern draws each access's gfn from the run's draws (nextGfn). */
export function drawsGfn(s: PatternSpec): boolean {
  return s.gfnCount > 1 && s.pattern !== 'sequential';
}

/** Whether the pattern draws whether each access writes (nextWrite). */
export function drawsWrite(s: PatternSpec): boolean {
  return s.writeRatio > 0 && s.writeRatio < 1;
}

/** Draws the guest's next access from the run's random draws. */
export class AccessPattern {
  private seq = 0;
  private readonly hotCount: number;
  constructor(
    private readonly rt: Runtime,
    private readonly spec: PatternSpec,
    /** Offset for sequential patterns, so vCPUs do not walk in lockstep. */
    start: number,
  ) {
    if (!Number.isInteger(start)) throw new ModelBug(`sequential start ${start} is not a whole gfn offset`);
    this.seq = start;
    this.hotCount = Math.max(1, Math.floor(spec.gfnCount * spec.hotFraction));
  }

  /** A uniform float in [0, 1) from one draw. */
  private unit(): number {
    return this.rt.draw(UNIT) / UNIT;
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
        const hot = this.unit() < s.hotProbability;
        if (hot || this.hotCount >= s.gfnCount) return s.gfnStart + this.rt.draw(this.hotCount);
        return s.gfnStart + this.hotCount + this.rt.draw(s.gfnCount - this.hotCount);
      }
      case 'zipf': {
        // Inverse CDF of the continuous power law on [1, n+1): rank 0 is hottest.
        const n = s.gfnCount;
        const u = this.unit();
        const a = 1 - s.zipfS;
        const x = Math.abs(a) < 1e-9 ? Math.exp(u * Math.log(n + 1)) : ((n + 1) ** a - 1) * u + 1;
        const rank = Math.abs(a) < 1e-9 ? Math.floor(x) - 1 : Math.floor(x ** (1 / a)) - 1;
        return s.gfnStart + Math.min(n - 1, Math.max(0, rank));
      }
    }
  }

  nextWrite(): boolean {
    const r = this.spec.writeRatio;
    if (!drawsWrite(this.spec)) return r >= 1;
    return this.unit() < r;
  }
}
