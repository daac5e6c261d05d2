import { modelAssert } from '../runtime/model-bug.js';
import { opWrite } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import type { Kvm } from './kvm.js';

/**
 * @kernel kvm_mmu_zap_all_fast — the fast invalidate flow by generation (threads
 * 000 and 002), one function for both MMUs as in the kernel. Under mmu_lock for
 * write: toggle mmu_valid_gen (every existing shadow page, or every TDP root,
 * becomes obsolete and is never looked up again), let the backend mark and zap
 * what it zaps under the write lock and ask every vCPU to drop its obsolete
 * roots; then, with the lock dropped, the backend's remaining work (the TDP MMU
 * zaps the invalidated roots under the read lock).
 */
export function* kvmMmuZapAllFast(kvm: Kvm): Task {
  // Every caller holds slots_lock: fast zaps never overlap, which is why one
  // generation bit is enough.
  modelAssert(kvm.slotsLock.isWriteHeldBy(kvm.rt.self()), 'kvm_mmu_zap_all_fast: slots_lock must be held');
  const mmu = kvm.mmu;
  const began = kvm.rt.now();
  yield* kvm.mmuLock.writeLock();
  // Race: vCPUs taking a reference to a root (TDP: under the read lock; shadow:
  // fast_pgd_switch reading a cached root's generation) against the toggle.
  yield opWrite(kvm.objRoots);
  // Traced under the lock, as the kernel does: the used-page count is stable here.
  kvm.emit({ e: 'zapAllBegin', how: 'kvm_mmu_zap_all_fast', pages: mmu.gauges().shadowPages });
  const bump = !kvm.mutation.acts('zap-fast-no-generation-bump');
  if (bump) {
    kvm.mmuValidGen ^= 1;
    kvm.emit({ e: 'mmuValidGen', gen: kvm.mmuValidGen });
  }
  yield* mmu.zapAllFastLocked(bump);
  yield* kvm.mmuLock.writeUnlockY();
  yield* mmu.zapAllFastUnlocked();
  kvm.emit({ e: 'zapAllEnd', how: 'kvm_mmu_zap_all_fast', durationNs: kvm.rt.now() - began });
}
