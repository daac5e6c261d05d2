import { Prng } from '../runtime/prng.js';
import { mix32 } from './rng.js';

/**
 * The model's random draws for one execution: a runtime Prng seeded from the
 * run's seed and a stream number, created only when the model first draws (most
 * check scenarios never do).
 */
export class SeededDraws {
  /** This execution's PRNG, once the model has drawn. */
  private prng: Prng | null = null;
  /** This execution's stream number. */
  private stream = 0;

  constructor(private readonly seed: number) {}

  /** Starts the draws of a new execution, on stream `stream`. */
  reset(stream: number): void {
    this.prng = null;
    this.stream = stream;
  }

  /** A draw in [0, n). */
  below(n: number): number {
    if (this.prng === null) this.prng = new Prng(mix32(this.seed, this.stream));
    return this.prng.below(n);
  }
}
