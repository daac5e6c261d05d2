import type { Runtime } from './runtime.js';

/** A broken property, as the oracle reports it. */
export interface Violation {
  /** Which property: 'stale-translation', 'obsolete-root', 'stale-apic-access', 'stale-mmio', 'obsolete-page', 'lost-dirty-write', 'accounting', 'livelock', 'deadlock' (the README's Properties). */
  kind: string;
  /** Name of the thread whose step broke it. */
  thread: string;
  /** Virtual time, ns. */
  timeNs: number;
  /** The scheduler step at which it was seen, from 0 (an index into a schedule's choices; check prints "minimised: … N scheduler steps", and its interleaving numbers events, not steps). */
  step: number;
  /** What happened, in kernel terms, like a bug report. */
  message: string;
}

/** One line of the step log, in kernel terms ("vCPU1: snapshot mmu_invalidate_seq=4"). */
export interface LogLine {
  step: number;
  thread: number;
  timeNs: number;
  text: string;
}

/**
 * One execution of a model, as drivers see it: the runtime with its threads
 * spawned, and what the oracle has found. A driver steps rt's threads until all
 * are done, a violation appears, or its bounds are reached.
 */
export interface Instance {
  readonly rt: Runtime;
  /** Violations found so far; drivers stop at the first. */
  readonly violations: Violation[];
  /** The awaited events still pending, described, or null when nothing is awaited. */
  pending(): string | null;
  /** The step log, when the instance was created with logging on; else null. */
  readonly log: LogLine[] | null;
  /**
   * Called by a driver once the run ends (closes open measurements, and judges
   * the properties that only the end of a run decides: lost-dirty-write). A
   * driver calls it when every thread is done, or (the simulator) at the
   * scenario's stop or a cut; not for a run cut short by a model bug or a
   * checker's truncation; `judge` false (the simulator after a model bug)
   * only closes the measurements.
   */
  finish(judge?: boolean): void;
  /**
   * The model's mutant, when it has one: how many times it made the model
   * depart from the kernel's protocol so far (0: this run is the protocol's).
   * Absent without a mutant. The checker reads it once per execution.
   */
  readonly mutation?: { readonly acted: number };
  /**
   * Called by a driver that will not look at the instance again: it may hand
   * pooled memory back for the next instance (optional).
   */
  dispose?(): void;
}
