import type { Sink } from '../kvm/events.js';
import { eptAccessTracking, type Settings } from '../kvm/settings.js';
import { ModelBug } from '../runtime/model-bug.js';
import { Prng } from '../runtime/prng.js';
import { scenarioDigest } from '../scenario/digest.js';
import { InputError } from '../scenario/input-error.js';
import { createInstance, type KvmInstance } from '../scenario/instantiate.js';
import { reclaimAges, type Scenario } from '../scenario/schema.js';
import { flushesWithInvlpg } from '../scenario/shadow-guest.js';
import type { ScenarioSize } from '../scenario/size.js';
import { Distribution } from './distribution.js';
import type { RunResult } from './result.js';
import { ThreadHeap } from './thread-heap.js';

export interface SimulateOptions {
  settings: Settings;
  mutant: string | null;
  seed: number;
  /** The size knobs `scenario` was resized by, recorded in the result (it runs `scenario` as given). */
  size?: ScenarioSize;
  /** Stop after this many steps (a bound, not the scenario's stop); result is partial. */
  maxSteps?: number;
  /** Polled every few thousand steps; returning true stops the run as partial (SIGINT). */
  interrupted?: () => boolean;
  sinks?: Sink[];
  /** Keep lock hold intervals (for reports). */
  recordHolds?: boolean;
  /** Called once the instance is built, before the first step (trace exporters read thread names and lock intervals). */
  onInstance?: (inst: KvmInstance) => void;
  /** Wall-clock source, injected by the CLI (results must not depend on it). */
  wallClock?: () => number;
}

/** Default bound on no-progress time before a livelock is declared, ns. */
const DEFAULT_LIVELOCK_NS = 50_000_000;
const CHECK_EVERY = 1024;
/** Steps with the virtual clock standing still after which a run is refused (a zero-cost loop). */
const STILL_STEPS = 1 << 20;

/**
 * Runs a scenario on the virtual clock: always steps the runnable thread that is
 * ready earliest (ties by id), so each thread's costs become elapsed time.
 */
export function simulate(scenario: Scenario, opts: SimulateOptions): RunResult {
  const wall = opts.wallClock ?? (() => 0);
  const t0 = wall();
  const inst = createInstance(scenario, {
    settings: opts.settings,
    mutant: opts.mutant,
    log: false,
    metrics: true,
    sinks: opts.sinks,
    interrupted: opts.interrupted,
  });
  const { rt, kvm } = inst;
  const metrics = inst.metrics!;
  const progress = inst.progress!;
  const prng = new Prng(opts.seed);
  const heap = new ThreadHeap();
  rt.driver = { draw: (n, w) => prng.draw(n, w), woke: (t) => heap.push(t) };
  if (opts.recordHolds) kvm.mmuLock.stats.holds = [];
  const lockWaits = new Distribution();
  kvm.mmuLock.stats.waits = lockWaits;
  opts.onInstance?.(inst);
  for (const t of rt.threads) heap.push(t);

  const stopNs = scenario.stop.timeNs ?? Number.POSITIVE_INFINITY;
  // stop.accesses 0 (as the workload's accesses 0) means no such stop.
  const stopAccesses = scenario.stop.accesses !== undefined && scenario.stop.accesses > 0 ? scenario.stop.accesses : Number.POSITIVE_INFINITY;
  const livelockNs = scenario.stop.livelockNs ?? DEFAULT_LIVELOCK_NS;
  const maxSteps = opts.maxSteps ?? Number.POSITIVE_INFINITY;
  let livelock = false;
  let stalled: string | null = null;
  // Interrupted during the warm start (which polls for it): the run has not begun.
  let partial = opts.interrupted?.() === true;
  let modelBug: string | null = null;
  // A loop that costs no virtual time would never reach stop.timeNs.
  let clockAtCheck = rt.clock;
  let stillSince = 0;

  try {
    let next = partial ? undefined : heap.pop();
    for (;;) {
      const t = next;
      if (t === undefined) break;
      if (t.state !== 'runnable') {
        next = heap.pop();
        continue;
      }
      if (t.readyAt >= stopNs) {
        rt.clock = stopNs;
        rt.endNs = stopNs;
        break;
      }
      // Exact bounds: a step is cheap next to these two comparisons.
      if (rt.steps >= maxSteps) {
        partial = true;
        break;
      }
      rt.runStep(t);
      // Threads woken by the step are queued already; t runs on if it is still first.
      next = t.state === 'runnable' ? heap.pushPop(t) : heap.pop();
      if (inst.violations.length > 0) {
        // The run stops at the violation: a step run before it may have charged past it (a host
        // thread's sleep), a time the run never reached; what is still open closes here.
        rt.endNs = inst.violations[0]!.timeNs;
        break;
      }
      if (metrics.guestAccesses >= stopAccesses) break;
      if (rt.steps % CHECK_EVERY === 0) {
        if (rt.clock !== clockAtCheck) {
          clockAtCheck = rt.clock;
          stillSince = rt.steps;
        } else if (rt.steps - stillSince >= STILL_STEPS) {
          throw new InputError(
            `virtual time stood still at ${rt.clock} ns for ${rt.steps - stillSince} steps: a thread loops at no cost (a cost of 0 in costs, or workload.accessIntervalNs 0 with costs.guestAccessNs 0); expected every loop to take time`,
          );
        }
        const old = progress.oldest(rt.clock);
        if (old !== null && old.ageNs > livelockNs) {
          livelock = true;
          stalled =
            old.pendingNs === old.ageNs
              ? `${old.what}: no completion for ${old.ageNs} ns`
              : `${old.what}: no completion for ${old.pendingNs} ns, no progress for the last ${old.ageNs} ns`;
          break;
        }
        if (opts.interrupted?.()) {
          partial = true;
          break;
        }
      }
    }
  } catch (e) {
    if (!(e instanceof ModelBug)) throw e;
    modelBug = e.message;
  }
  // The end of the run, whatever ended it (its stop, a cut, a livelock): the
  // properties judged at the end are judged at this state; not after a model bug.
  inst.finish(modelBug === null);

  const lock = kvm.mmuLock.stats;
  const m = metrics;
  return {
    format: 'mmulab-run/1',
    scenario: scenario.name ?? 'unnamed',
    scenarioDigest: scenarioDigest(scenario),
    seed: opts.seed,
    settings: opts.settings,
    ...(opts.size !== undefined ? { size: opts.size } : {}),
    mutant: opts.mutant,
    ...(opts.mutant !== null ? { mutantActed: kvm.mutation.acted } : {}),
    simTimeNs: rt.endNs,
    steps: rt.steps,
    metrics: {
      faults: {
        total: m.faults,
        fixed: m.fixed,
        // pf_fast only where fast_page_fault can run (a leaf write-protected by dirty logging): every other run's JSON stays as it was.
        ...(scenario.host.dirtyLog !== undefined ? { fast: m.fast } : {}),
        retries: m.retries,
        retriesBeforeLock: m.retriesBeforeLock,
        retriesUnderLock: m.retriesUnderLock,
        retriesInvalidSlot: m.retriesInvalidSlot,
        retriesGpteChanged: m.retriesGpteChanged,
        spurious: m.spurious,
        emulated: m.emulated,
        injectedPf: m.injectedPf,
        inFlight: m.faultsInFlight,
        latencyNs: m.faultLatency.summary(),
      },
      mmio: { fastPath: m.mmioFastPath },
      mmuLock: {
        readAcquires: lock.readAcquires,
        writeAcquires: lock.writeAcquires,
        contended: lock.contended,
        waitNs: (({ p50, p99, max }) => ({ p50, p99, max }))(lockWaits.summary()),
        writeHoldNs: { max: lock.writeHoldMaxNs },
        lockBreaks: m.lockBreaks,
        breaksYielded: lock.breaksYielded,
        breakAcquires: lock.breakAcquires,
        breakOffMaxNs: lock.breakOffMaxNs,
      },
      // The invlpg stat only where a munmap can make one: every other run's JSON stays as it was.
      tlb: { remoteFlushes: m.remoteFlushes, vcpuFlushes: m.tlbFlushes, ...(flushesWithInvlpg(scenario, opts.settings.mmu) ? { invlpg: m.invlpg } : {}) },
      ...(scenario.host.dirtyLog !== undefined
        ? {
            dirtyLog: {
              harvests: m.dirtyHarvests,
              pagesHarvested: m.dirtyPagesHarvested,
              leavesWriteProtected: m.dirtyLeavesWriteProtected,
              pagesMarked: m.dirtyPagesMarked,
              wpFaults: m.dirtyWpFaults,
              pagesCopied: m.dirtyPagesCopied,
              // Only under manual protect: every other run's JSON stays as it was.
              ...((scenario.host.dirtyLog.protect ?? 'get') !== 'get' ? { clears: m.dirtyClears, pagesCleared: m.dirtyPagesCleared } : {}),
              // Only with dirty rings: every other run's JSON stays as it was.
              ...(scenario.host.dirtyLog.mode === 'ring'
                ? {
                    ring: {
                      pushes: m.ringPushes,
                      fullExits: m.ringFullExits,
                      collections: m.ringCollections,
                      pagesCollected: m.ringPagesCollected,
                      resets: m.ringResets,
                      entriesReset: m.ringEntriesReset,
                    },
                  }
                : {}),
            },
          }
        : {}),
      // Aging only where a reclaim ages: every other run's JSON stays as it was.
      ...(reclaimAges(scenario)
        ? {
            aging: {
              aged: m.aged,
              young: m.agedYoung,
              old: m.agedOld,
              // Access tracking only under TDP without EPT A/D bits: every other aging run's JSON stays as it was.
              ...(eptAccessTracking(opts.settings)
                ? { accessTrack: { marked: m.accessTrackMarked, markFailed: m.accessTrackMarkFailed, restored: m.accessTrackRestored } }
                : {}),
            },
          }
        : {}),
      sptes: { installed: m.sptesInstalled, zapped: m.sptesZapped },
      invalidations: {
        started: m.invalidationsStarted,
        completed: m.invalidationsCompleted,
        sptesZapped: m.notifierSptesZapped,
        durationNs: m.invalidationDuration.summary(),
      },
      apic: {
        reloads: m.apicReloads,
        reRequests: m.apicReRequests,
        stalledNs: m.apicStalledNs,
        stalls: m.apicStalls,
        stallMaxNs: m.apicStallMaxNs,
        requestToEntryNs: m.apicRequestToEntryNs,
      },
      guest: { accesses: m.guestAccesses, entries: m.entries, entriesCancelled: m.entriesCancelled },
      // Shadow pages are shadow paging's: under TDP none are made (the TDP MMU's page
      // tables are no shadow pages), though the instance seeds the live count with them.
      shadowPages:
        opts.settings.mmu === 'shadow'
          ? { created: m.shadowPagesCreated, zapped: m.shadowPagesZapped, peak: m.shadowPagesPeak, recycled: m.mmuRecycled }
          : { created: 0, zapped: 0, peak: 0, recycled: 0 },
      roots: {
        allocated: m.rootsAllocated,
        freed: m.rootsFreed,
        reloads: m.rootReloads,
        reloadsAfterZap: m.rootReloadsAfterZap,
        zappedInUse: m.rootsZappedInUse,
      },
      zapAll: {
        started: m.zapAllStarted,
        completed: m.zapAllCompleted,
        maxDurationNs: m.zapAllMaxDurationNs,
        validGen: kvm.mmuValidGen,
        validGenToggles: m.validGenToggles,
      },
      memslots: { started: m.memslotChangesStarted, changes: m.memslotChanges },
    },
    violations: inst.violations,
    progress: { livelock, stalled },
    partial,
    modelBug,
    wallMs: Math.round(wall() - t0),
  };
}
