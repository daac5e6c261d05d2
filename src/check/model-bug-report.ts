import type { Schedule } from '../runtime/schedule.js';

/** The model threw while running: it is inconsistent, which is reported apart from violations. */
export interface ModelBugReport {
  /** The exception's message, after its class ("TypeError: …", "ModelBug: …"): modelBugMessage. */
  message: string;
  /** Its stack, when it has one. */
  stack: string | null;
  /**
   * Replays the execution up to the throw, the step that threw included
   * (Execution.schedule): a replay of it throws again. Empty when building
   * the instance threw (any run reproduces that).
   */
  schedule: Schedule;
}

/**
 * The one line a model bug is told by, check's and replay's alike (so that a
 * replay can be seen to reproduce what check found): the exception's class,
 * which tells a ModelBug (an invariant the model asserts) from a TypeError (a
 * root freed twice, read after), and its message.
 */
export function modelBugMessage(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** The report of the model's exception `e`, thrown in the execution `schedule` replays. */
export function bugReport(e: unknown, schedule: Schedule): ModelBugReport {
  return {
    message: modelBugMessage(e),
    stack: e instanceof Error ? (e.stack ?? null) : null,
    schedule,
  };
}
