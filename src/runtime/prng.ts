import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/**
 * A draw of one of `n` outcomes that are not equally likely: `of` maps a
 * uniform u in [0, 1) to its outcome. A seeded source draws u; a systematic
 * search takes each outcome in turn, the outcomes being few where the unit
 * they are drawn from is not (see Runtime.drawWeighted).
 */
export interface Weighted {
  readonly n: number;
  of(u: number): number;
}

/** The largest seed: seeds are whole numbers from 0 to 2^31 - 1 (--seed, a scenario's seed, a counterexample's). */
export const MAX_SEED = 2 ** 31 - 1;

/** Resolution of the uniform u a weighted draw maps. */
const UNIT = 1 << 30;

/** The one seeded source of randomness of a run. */
export class Prng {
  private readonly rng;
  constructor(seed: number) {
    this.rng = xoroshiro128plus(seed | 0);
  }
  /** A uniform integer in [0, n). */
  below(n: number): number {
    if (n <= 1) return 0;
    return uniformInt(this.rng, 0, n - 1);
  }
  /** A driver's draw (Driver.draw): uniform in [0, n), or with the weights of `w` when given. */
  draw(n: number, w?: Weighted): number {
    return w === undefined ? this.below(n) : this.weighted(w);
  }
  /** One of `w.n` outcomes, with the weights `w.of` gives them (one draw below 2^30). */
  weighted(w: Weighted): number {
    return w.of(this.below(UNIT) / UNIT);
  }
  /** A uniform float in [0, 1). */
  float(): number {
    return (this.rng.next() >>> 0) / 4294967296;
  }
}
