import type { Instance } from '../runtime/instance.js';

/**
 * Runs the first `steps` of a recorded execution on a fresh instance, as the
 * checker ran them (each thread on its own clock): each step's thread from
 * `choices`, each draw the model makes from `draws`, nothing chosen and
 * nothing checked beyond the model's own oracle. Returns how many draws were
 * taken. The model is deterministic given its choices and draws, so the
 * instance ends in the state the recorded execution was in.
 */
export function runRecordedSteps(inst: Instance, choices: ArrayLike<number>, steps: number, draws: ArrayLike<number>): number {
  const rt = inst.rt;
  rt.localTime = true;
  let d = 0;
  rt.driver = { draw: () => draws[d++]!, woke: () => {} };
  for (let i = 0; i < steps; i++) rt.runStep(rt.threads[choices[i]!]!);
  return d;
}
