import { availableParallelism } from 'node:os';
import { InputError } from '../scenario/input-error.js';

/** Largest --time-limit accepted, seconds (a week). */
const MAX_TIME_LIMIT_S = 7 * 24 * 3600;

/** Parses --time-limit S (or another option of wall seconds): fractions allowed, more than 0 and at most a week. */
export function parseTimeLimitSeconds(text: string, option = '--time-limit'): number {
  const s = Number(text);
  // Decimal, as a user writes seconds: 2, 0.5, .5, 1e-3; not hex, Infinity or a blank.
  if (!/^\s*(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(text) || !Number.isFinite(s) || s <= 0 || s > MAX_TIME_LIMIT_S) {
    throw new InputError(`${option} ${text}: expected seconds, a decimal number (2, 0.5, 1e-3) > 0 and <= ${MAX_TIME_LIMIT_S}`);
  }
  return s;
}

/** Parses --time-limit S into an absolute deadline (ms since the epoch). */
export function parseTimeLimit(text: string | undefined, now = Date.now()): number | undefined {
  if (text === undefined) return undefined;
  return now + parseTimeLimitSeconds(text) * 1000;
}

/** True when a wall-clock deadline has passed. */
export function pastDeadline(deadlineMs: number | undefined, now = Date.now()): boolean {
  return deadlineMs !== undefined && now >= deadlineMs;
}

/** Worker threads per core past which --workers is capped. */
const WORKERS_PER_CORE = 4;

/**
 * The worker threads to start when --workers asks for `asked`, and the warning
 * to print, if any. More than the cores only take turns on them, each starting
 * and warming up on its own with a heap of its own (8 workers on 2 cores took
 * 8.3-8.5 s and 610 MB for the 2.5 s and 175 MB of one; 600, 11.8 GB): past
 * WORKERS_PER_CORE a core (at least 8 in all) they are capped. Results do not
 * depend on the number of workers.
 */
export function workerCount(asked: number, cores = availableParallelism()): { workers: number; warning: string | null } {
  const cap = Math.max(8, WORKERS_PER_CORE * cores);
  if (asked > cap) {
    return {
      workers: cap,
      warning: `--workers ${asked} is more than ${WORKERS_PER_CORE} a core for the ${cores} cores here: running ${cap}, as more would only take memory and time (each worker has its own heap), not give another result`,
    };
  }
  if (asked > cores) {
    return {
      workers: asked,
      warning: `--workers ${asked} is more than the ${cores} cores here: the workers take turns on them, each starting and warming up on its own, which costs more than it gains`,
    };
  }
  return { workers: asked, warning: null };
}
