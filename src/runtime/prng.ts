import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

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
  /** A uniform float in [0, 1). */
  float(): number {
    return (this.rng.next() >>> 0) / 4294967296;
  }
}
