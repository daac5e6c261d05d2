import { bit } from './thread-mask.js';

/** Node kind: which thread runs the next step. */
export const THREAD_NODE = 0;
/** Node kind: what a draw of the model returns. */
export const DRAW_NODE = 1;

/**
 * The branch points of the current execution and what is left to try at each
 * (after loom's path.rs), kept as parallel arrays of small integers so that
 * nothing is allocated per step. Sets of threads are 32-bit masks by thread id.
 * Nodes beyond `length` are stale and overwritten.
 */
export class Path {
  /** Number of nodes on the path. */
  length = 0;
  /** THREAD_NODE or DRAW_NODE. */
  readonly kind: number[] = [];
  /** Thread id chosen (Thread node), or value drawn (Draw node). */
  readonly chosen: number[] = [];
  /** Thread node: threads to try here (a superset of `done`). Draw node: the number of values. */
  readonly backtrack: number[] = [];
  /** Thread node: threads tried here so far, the current one included. */
  readonly done: number[] = [];
  /** Thread node: sleep set on arrival (threads whose step here is covered elsewhere). */
  readonly sleep: number[] = [];
  /** Thread node: eligible threads. */
  readonly eligible: number[] = [];
  /** Thread node: thread that ran the step before, or -1. */
  readonly prev: number[] = [];
  /** Thread node: 1 when choosing another thread than `prev` is a preemption. */
  readonly preemptive: number[] = [];
  /** Thread node: preemptions spent before this node. */
  readonly preemptions: number[] = [];
  /**
   * Thread node: threads tried here whose step here was followed at once by
   * a spin (their own, or one it let go): with the fair-spin rules, that step
   * and the spin are one, and the spin's yields do not commute with any other
   * thread's step.
   */
  readonly spinAfter: number[] = [];

  /** Appends a node and returns its index. */
  push(kind: number, chosen: number, backtrack: number): number {
    const k = this.length++;
    this.kind[k] = kind;
    this.chosen[k] = chosen;
    this.backtrack[k] = backtrack;
    this.done[k] = kind === THREAD_NODE ? bit(chosen) : 0;
    this.sleep[k] = 0;
    this.eligible[k] = 0;
    this.prev[k] = -1;
    this.preemptive[k] = 0;
    this.preemptions[k] = 0;
    this.spinAfter[k] = 0;
    return k;
  }
}
