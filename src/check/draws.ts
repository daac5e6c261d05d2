import { Prng, type Weighted } from '../runtime/prng.js';
import { mix32 } from './rng.js';

/**
 * The model's random draws for one execution, one stream per thread: a thread's
 * draws depend only on how many it made before, never on the order in which
 * threads ran, so two orders of commuting steps draw the same values (which the
 * partial-order reduction assumes). Each thread's runtime Prng is seeded from the
 * run's seed, the execution's stream number and the thread id, and created only
 * when that thread first draws (most check scenarios never do).
 */
export class SeededDraws {
  /** The PRNG of each thread id (k = tid + 1), made at its first draw: this execution's when prngsOf[k] is `resets`. */
  private readonly prngs: (Prng | undefined)[] = [];
  private readonly prngsOf: number[] = [];
  /** Resets so far: which execution a PRNG in `prngs` belongs to (the array is not emptied at each). */
  private resets = 0;
  /** This execution's stream number. */
  private stream = 0;

  constructor(private readonly seed: number) {}

  /** Starts the draws of a new execution, on stream `stream`. */
  reset(stream: number): void {
    this.resets++;
    this.stream = stream;
  }

  /** A draw in [0, n) for thread `tid` (-1: drawn outside any thread), with the weights of `w` when given. */
  below(n: number, tid: number, w?: Weighted): number {
    const k = tid + 1;
    let p = this.prngs[k];
    if (p === undefined || this.prngsOf[k] !== this.resets) {
      p = new Prng(mix32(mix32(this.seed, this.stream), k));
      this.prngs[k] = p;
      this.prngsOf[k] = this.resets;
    }
    return p.draw(n, w);
  }
}
