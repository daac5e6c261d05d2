import { InputError } from '../scenario/input-error.js';

/** Largest --time-limit accepted, seconds (a week). */
const MAX_TIME_LIMIT_S = 7 * 24 * 3600;

/** Parses --time-limit S (or another option of wall seconds): fractions allowed, more than 0 and at most a week. */
export function parseTimeLimitSeconds(text: string, option = '--time-limit'): number {
  const s = Number(text);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(text) || !Number.isFinite(s) || s <= 0 || s > MAX_TIME_LIMIT_S) {
    throw new InputError(`${option} ${text}: expected seconds, a number > 0 and <= ${MAX_TIME_LIMIT_S}`);
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
