import { type AuditFinding, auditConflicts, auditFootprints, type ConflictTally } from '../check/audit.js';
import type { InstanceFactory } from '../check/factory.js';
import { profileRaces, type RaceProfile } from '../check/race-profile.js';
import type { RetryRule } from '../check/spin.js';

/** What `mmulab audit` runs; plain data, so that it crosses to a worker thread. */
export interface AuditJobOptions {
  /** Random executions whose adjacent steps are swapped. */
  executions: number;
  /** Seed of those executions. */
  seed: number;
  /** The race profile's DFS: a preemption bound (undefined: none), and its budget. */
  preemptionBound?: number;
  profileExecutions?: number;
  profileTimeLimitMs?: number;
  /** The profile's DFS: when a thread that failed an attempt retries (default 'deferred'). */
  retries?: RetryRule;
}

/** What `mmulab audit` found. */
export interface AuditResult {
  /** Steps announced independent that did not commute when swapped: announcements the reduction cannot trust. */
  unsound: AuditFinding[];
  /** Kinds of conflicting pairs, with how often a swap changed nothing. */
  conflicts: ConflictTally[];
  /** Where the DFS's executions come from. */
  races: RaceProfile;
  /** The profile was cut short by SIGINT. */
  interrupted: boolean;
}

/**
 * The footprint audit of a scenario's model, both ways (announced independent
 * but not commuting: unsound; announced conflicting but commuting: costly),
 * then the profile of the races a DFS of it reverses.
 */
export function runAudit(factory: InstanceFactory, o: AuditJobOptions, stop: () => boolean): AuditResult {
  const sample = { executions: o.executions, seed: o.seed };
  const unsound = auditFootprints(factory, sample);
  const conflicts = stop() ? [] : auditConflicts(factory, sample);
  const races = profileRaces(factory, {
    preemptionBound: o.preemptionBound,
    maxExecutions: o.profileExecutions,
    timeLimitMs: o.profileTimeLimitMs,
    interrupted: stop,
    seed: o.seed,
    retries: o.retries,
  });
  return { unsound, conflicts, races, interrupted: stop() };
}
