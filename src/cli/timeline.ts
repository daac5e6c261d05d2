/**
 * A timeline of a check run on workers, for measuring where two workers lose
 * time (docs/performance.md): with MMULAB_TIMELINE=<file> set, each thread
 * appends one JSON line per mark to the file (when, which thread, what, and
 * the thread's CPU time and run-queue wait so far from
 * /proc/thread-self/schedstat). Unset, marking costs one test. Not part of
 * any output: `node scripts/timeline.mjs <file>` sums it up.
 */

import { appendFileSync, readFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { UnitClaims } from '../check/claims.js';

const file = process.env.MMULAB_TIMELINE;

/** True when marks are recorded. */
export const timelineOn = file !== undefined && file !== '';

/** This thread's CPU time and time runnable but waiting for a core, ms, or null where the kernel does not say. */
function schedstat(): [cpuMs: number, waitMs: number] | null {
  try {
    const [cpu, wait] = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ').map(Number);
    return [cpu! / 1e6, wait! / 1e6];
  } catch {
    return null;
  }
}

/** Records `what` (with `data`) now, on this thread, when MMULAB_TIMELINE is set. */
export function mark(what: string, data: Record<string, unknown> = {}): void {
  if (!timelineOn) return;
  const at = performance.timeOrigin + performance.now();
  const s = schedstat();
  const line = { at, thread: threadId, what, ...(s !== null ? { cpuMs: s[0], waitMs: s[1] } : {}), ...data };
  appendFileSync(file!, `${JSON.stringify(line)}\n`);
}

/** Claims that mark each unit taken ('claim', its position), so the timeline shows when a part came free. */
class MarkedClaims extends UnitClaims {
  override take(): number {
    const pos = super.take();
    mark('claim', { pos });
    return pos;
  }
}

/** A view of the claims in `buffer`, marked when the timeline is on. */
export function claimsOn(buffer: SharedArrayBuffer): UnitClaims {
  return timelineOn ? new MarkedClaims(buffer) : new UnitClaims(buffer);
}
