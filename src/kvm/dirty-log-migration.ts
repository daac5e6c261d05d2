import { type Op, opRead } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import type { DirtyLog } from './dirty-log.js';
import { kvmClearDirtyLogProtect } from './dirty-log-clear.js';
import { kvmEnableDirtyLogging, kvmGetDirtyLogProtect, loggedSlot } from './dirty-log-ioctl.js';
import { kvmDirtyRingReap, migrationBitmapSync } from './dirty-ring-vmm.js';
import type { Kvm } from './kvm.js';
import { gfnToHva } from './memslots.js';

/** What the VMM's migration thread does (host.dirtyLog). */
export interface DirtyLogSpec {
  /** The memslot whose writes are logged. */
  slot: number;
  /** When logging is enabled, ns. */
  startNs: number;
  /** KVM_GET_DIRTY_LOG calls after it (under `ring`: collection rounds at most). */
  harvests: number;
  /** Time from one ioctl's copies to the next harvest, ns. */
  intervalNs: number;
}

/**
 * Live migration's use of dirty logging, as a VMM does it: enable
 * KVM_MEM_LOG_DIRTY_PAGES on the slot and copy every page, then harvest the
 * bitmap `harvests` times, copying the pages each harvest reports (under manual
 * protect, once KVM_CLEAR_DIRTY_LOG has returned). With dirty rings, up to
 * `harvests` rounds of collecting the rings, KVM_RESET_DIRTY_RINGS and copying
 * what was collected (by the round, or by vCPUs back from
 * KVM_EXIT_DIRTY_RING_FULL since), until a round finds nothing to copy.
 */
export function* dirtyLogMigration(kvm: Kvm, spec: DirtyLogSpec): Task {
  const log = kvm.dirtyLog!;
  if (spec.startNs > 0) yield* kvm.sleep(spec.startNs);
  yield* enableAndCopy(kvm, log);
  for (let n = 1; n <= spec.harvests; n++) {
    if (spec.intervalNs > 0) yield* kvm.sleep(spec.intervalNs);
    if (log.rings === null) yield* harvestAndCopy(kvm, log, n);
    else if (!(yield* collectResetAndCopy(kvm, log, n))) return;
  }
}

/**
 * The VMM's round `n` with dirty rings: collect every ring and reset them
 * (kvmDirtyRingReap), then copy what is to be copied. False when there was
 * nothing: the round is the last.
 */
function* collectResetAndCopy(kvm: Kvm, log: DirtyLog, n: number): Generator<Op, boolean, void> {
  // The reset must return before the copies: its write protection (and flush)
  // is what makes a guest write after a page's copy fault and push it again.
  // Copied first, a write through the still-writable leaf between the copy and
  // the reset is in no copy and in no ring.
  const early = kvm.mutation.has('dirty-ring-copy-before-reset') ? () => copyBeforeReset(kvm, log, n) : undefined;
  const got = yield* kvmDirtyRingReap(kvm, log, 'migration', early);
  if (got.length === 0 && log.toCopy.size === 0) return false;
  yield* copyPages(kvm, log, n);
  return true;
}

/** The mutant dirty-ring-copy-before-reset's hand-over and copy, between the collection and KVM_RESET_DIRTY_RINGS. */
function* copyBeforeReset(kvm: Kvm, log: DirtyLog, n: number): Task {
  kvm.mutation.tookEffect();
  yield* migrationBitmapSync(kvm, log, n);
  yield* copyPages(kvm, log, n);
}

/** The VMM enables logging, then copies every page (none with KVM_DIRTY_LOG_INITIALLY_SET: the first harvest reports each). */
export function* enableAndCopy(kvm: Kvm, log: DirtyLog): Task {
  yield* kvmEnableDirtyLogging(kvm, log);
  yield* copyPages(kvm, log, 0);
}

/**
 * The VMM's harvest number `n`: KVM_GET_DIRTY_LOG; under manual protect,
 * KVM_CLEAR_DIRTY_LOG of what it reported (skipped when it reported nothing);
 * then the copies of the pages it reported.
 */
export function* harvestAndCopy(kvm: Kvm, log: DirtyLog, n: number): Task {
  const reported = yield* kvmGetDirtyLogProtect(kvm, log, n);
  if (log.manualDirtyLogProtect && reported.length > 0) {
    // The clear must return before the copies: its write protection (and
    // flush) is what makes a guest write after a page's copy fault and set the
    // bit again. Copied first, a write between the copy and the clear's
    // fetch_andnot has its bit cleared by the clear and is in no copy.
    if (kvm.mutation.acts('dirty-log-copy-before-clear')) {
      yield* copyPages(kvm, log, n);
      yield* kvmClearDirtyLogProtect(kvm, log, n, reported);
      return;
    }
    yield* kvmClearDirtyLogProtect(kvm, log, n, reported);
  }
  yield* copyPages(kvm, log, n);
}

/**
 * The VMM copies the pages it is to copy (after the enable, every page; after a
 * harvest, those it reported), one step each: a guest write to the page before
 * its copy is in it, one after must be logged for the next harvest.
 */
function* copyPages(kvm: Kvm, log: DirtyLog, n: number): Task {
  const slot = loggedSlot(kvm, log);
  // What is to copy as the round starts, ascending: a page reported while it runs waits for the next.
  for (const g of log.toCopy.snapshot()) {
    // Race: a guest write to the page (through its TLB, or its SPTE) against the
    // copy reading it: whichever comes first decides whether the copy has the write.
    // The copy reads the page and writes only the VMM's own record of what it
    // copied (toCopy, lastCopy: this thread's alone), not the bitmap or the rings
    // KVM shares with the vCPUs, so it commutes with their marks and pushes.
    yield opRead(kvm.objHostPte(gfnToHva(slot, g)));
    kvm.rt.charge(kvm.costs.pageCopyNs);
    log.toCopy.delete(g);
    log.copied(slot, g, n);
    kvm.emit(log.rings === null ? { e: 'dirtyLogCopy', slot: slot.id, n, gfn: g } : { e: 'dirtyLogCopy', slot: slot.id, n, gfn: g, ring: true });
  }
}
