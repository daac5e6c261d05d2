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

/** Re-executing a prefix did not reach the same state: the model depends on something besides the schedule. */
export class NondeterministicModel extends CheckerError {
  override readonly name: string = 'NondeterministicModel';
}
