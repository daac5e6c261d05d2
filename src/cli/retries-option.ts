import type { RetryRule } from '../check/index.js';
import { InputError } from '../scenario/input-error.js';

/** --retries: its help, shared by check and audit. */
export const RETRIES_HELP =
  'when a thread whose attempt failed (RET_PF_RETRY, a cancelled VM-entry) goes round again: deferred (only once no thread that is not retrying can run) or interleaved (at any point)';

/** The retry rule --retries asks for. */
export function parseRetries(v: string): RetryRule {
  if (v !== 'deferred' && v !== 'interleaved') throw new InputError(`--retries ${v}: expected deferred or interleaved`);
  return v;
}
