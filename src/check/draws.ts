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
  /** This execution's PRNG of each thread id, once it has drawn. */
  private readonly prngs: (Prng | undefined)[] = [];
  /** This execution's stream number. */
  private stream = 0;

  constructor(private readonly seed: number) {}

  /** Starts the draws of a new execution, on stream `stream`. */
  reset(stream: number): void {
    this.prngs.length = 0;
    this.stream = stream;
  }

  /** A draw in [0, n) for thread `tid` (-1: drawn outside any thread), with the weights of `w` when given. */
  below(n: number, tid: number, w?: Weighted): number {
    const k = tid + 1;
    let p = this.prngs[k];
    if (p === undefined) {
      p = new Prng(mix32(mix32(this.seed, this.stream), k));
      this.prngs[k] = p;
    }
    return p.draw(n, w);
  }
}
