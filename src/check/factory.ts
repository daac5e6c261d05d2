import type { Instance } from '../runtime/instance.js';

/** How the checker wants a fresh instance built. */
export interface InstanceOptions {
  /** Record the step log (Instance.log) in kernel terms; off while exploring, on to print a counterexample. */
  log: boolean;
  /**
   * Track the awaited events that `pending()` describes (default true). The
   * exploration builds its instances without (a factory may ignore it): only a
   * run it cuts asks, and then it replays that run on an instance built with.
   */
  progress?: boolean;
}

/**
 * Builds a fresh instance of the model for one execution. A stateless checker
 * re-executes from scratch, so every call must give an instance in the same
 * initial state: the same threads, spawned in the same order, with no state
 * shared between calls. `() => Instance` fits too.
 */
export type InstanceFactory = (options: InstanceOptions) => Instance;
