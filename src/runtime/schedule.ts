/**
 * A complete record of one execution's nondeterminism: which thread ran at each
 * step, and every random draw the model made. Replaying it reproduces the run.
 */
export interface Schedule {
  /** Thread id chosen at each step. */
  choices: number[];
  /** Each draw's result, in the order the model asked. */
  draws: number[];
}
