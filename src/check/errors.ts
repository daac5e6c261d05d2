/**
 * An error of the checker or of how it is used, never of the model: it is
 * thrown through the run instead of being reported as a model bug.
 */
export class CheckerError extends Error {
  override readonly name: string = 'CheckerError';
}

/** A replayed schedule did not fit the model: the model, its settings or the schedule changed. */
export class ReplayDivergence extends CheckerError {
  override readonly name: string = 'ReplayDivergence';
}

/**
 * A replayed schedule ran out with threads still able to run, every step of it
 * run without a violation: a counterexample's schedule ends where the violation
 * was, so this is what replaying it on a model that no longer violates there (its
 * mutant taken away: "does the fix hold?") comes to, as does a schedule cut short.
 */
export class ScheduleRanOut extends ReplayDivergence {
  override readonly name: string = 'ScheduleRanOut';
  constructor(
    message: string,
    /** The schedule's steps, all run. */
    readonly steps: number,
  ) {
    super(message);
  }
}

/** Re-executing a prefix did not reach the same state: the model depends on something besides the schedule. */
export class NondeterministicModel extends CheckerError {
  override readonly name: string = 'NondeterministicModel';
}
