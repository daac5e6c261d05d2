import type { RunResult } from '../simulate/result.js';

/**
 * Whether a run measured a duration at all: a percentile, a maximum or a sum of
 * nothing is 0 in the JSON (data), but the tables show it as '-', as they show a
 * row that does not apply, lest "0ns" read as "took no time" (a probe: zap-all's
 * longest 0ns for a lock-break zap that ran 20 ms and never finished;
 * invalidation time p50 0ns with no invalidation completed).
 */
export type Measured = (r: RunResult) => boolean;

const m = (r: RunResult) => r.metrics;

/** A fault's latency is taken when it ends: some fault ended. */
export const faultsEnded: Measured = (r) => m(r).faults.total > m(r).faults.inFlight;
/** mmu_lock's waits: some acquisition, read or write. */
export const lockTaken: Measured = (r) => m(r).mmuLock.readAcquires + m(r).mmuLock.writeAcquires > 0;
/** The longest write hold: some write acquisition. */
export const lockWritten: Measured = (r) => m(r).mmuLock.writeAcquires > 0;
/** An invalidation's time is taken when it completes. */
export const invalidationsCompleted: Measured = (r) => m(r).invalidations.completed > 0;
/** The retry flow's loop: some vCPU re-requested the APIC-access page's reload. */
export const apicReRequested: Measured = (r) => m(r).apic.reRequests > 0;
/** Request to next VM-entry: some reload was requested (and made, or re-requested). */
export const apicRequested: Measured = (r) => m(r).apic.reloads + m(r).apic.reRequests > 0;
/** Zap-all's (or a memslot flush's) longest is of those completed. */
export const zapsCompleted: Measured = (r) => m(r).zapAll.completed > 0;

/** Some lock break, with the figures of who took mmu_lock in the breaks (runs written before them have none). */
export const lockBroken: Measured = (r) => m(r).mmuLock.lockBreaks > 0 && m(r).mmuLock.breaksYielded !== undefined;
/**
 * mmu_valid_gen's figures matter: a toggle, or a fast zap that started (the
 * zap-fast-no-generation-bump mutant's, which toggles nothing).
 */
export const validGenShown: Measured = (r) =>
  m(r).zapAll.validGenToggles !== undefined && (m(r).zapAll.validGenToggles! > 0 || (r.settings.memslotFlush === 'zap-all-fast' && m(r).zapAll.started > 0));

/** The figure, or undefined when the run measured none (a 0 it did not measure). */
export function ifMeasured(r: RunResult, value: number, measured: Measured): number | undefined {
  return value === 0 && !measured(r) ? undefined : value;
}
