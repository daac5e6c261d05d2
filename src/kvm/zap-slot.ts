import { op2, WRITE } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import type { Memslot } from './memslots.js';
import type { ShadowMmu } from './shadow-mmu.js';
import { isObsoleteSp, refIndex, refPage, type ShadowPage } from './shadow-page.js';
import { kvmMmuPrepareZapPage, kvmMmuRemoteFlushOrZap, mmuPageZapPte } from './shadow-zap.js';

/**
 * Zapping only what a memslot being deleted or moved needs (thread 002; the v5.1
 * flush, 2019): the leaves its rmaps find, and — with `byHash` — every page that
 * shadows a guest table inside the slot, found through mmu_page_hash. Without
 * the hash walk (zap-slot-rmap-only, the 2013 proposal) a page that shadows a
 * table in the slot but maps nothing in it is missed, and stays accounted in the
 * slot's lpage_info after the slot is gone.
 * @kernel arch/x86/kvm/mmu/mmu.c kvm_zap_rmap, kvm_mmu_zap_memslot (v5.1), for_each_gfn_valid_sp_with_gptes
 */
export function* kvmMmuZapMemslot(mmu: ShadowMmu, slot: Memslot, byHash: boolean): Task {
  const kvm = mmu.kvm;
  const lock = kvm.mmuLock;
  const how = byHash ? 'zap memslot (rmaps + mmu_page_hash)' : 'zap memslot (rmaps only)';
  const began = kvm.rt.now();
  kvm.emit({ e: 'zapAllBegin', how, pages: mmu.active.count });
  yield* lock.writeLock();
  const start = slot.baseGfn;
  const end = slot.baseGfn + slot.npages;
  const invalidList: ShadowPage[] = [];
  let flush = false;
  for (const gfn of mmu.rmap.gfnsIn(start, end)) {
    // Race: guests walking these leaves in hardware while we clear them.
    yield op2(WRITE, mmu.objSpt, lock.obj);
    for (const ref of [...mmu.rmap.get(gfn)]) if (mmuPageZapPte(mmu, mmu.sps[refPage(ref)]!, refIndex(ref))) flush = true;
    flush = yield* lockBreak(mmu, invalidList, flush, how);
  }
  if (byHash) {
    for (const gfn of mmu.hash.gfnsIn(start, end)) {
      for (const sp of [...mmu.hash.bucket(gfn)]) {
        if (sp.gfn !== gfn || !sp.hasGptes || isObsoleteSp(kvm, sp)) continue;
        // Race: guests walking this page in hardware while we unlink it.
        yield op2(WRITE, mmu.objSpt, lock.obj);
        yield* kvmMmuPrepareZapPage(mmu, sp, invalidList);
      }
      flush = yield* lockBreak(mmu, invalidList, flush, how);
    }
  }
  yield* kvmMmuRemoteFlushOrZap(mmu, invalidList, flush);
  yield* lock.writeUnlockY();
  kvm.emit({ e: 'zapAllEnd', how, durationNs: kvm.rt.now() - began });
}

/**
 * Between two gfns: when mmu_lock is contended or the slice is used up, flush and
 * free what was zapped, then drop and re-take the lock. The flush comes first:
 * once the lock is dropped another path may find the SPTEs gone and skip a flush
 * that a TLB still needs. Returns whether a flush is still pending.
 */
function* lockBreak(mmu: ShadowMmu, invalidList: ShadowPage[], flush: boolean, holder: string): Generator<number, boolean, void> {
  const kvm = mmu.kvm;
  const lock = kvm.mmuLock;
  if (!((kvm.yieldOnContention && lock.contended()) || lock.shouldResched())) return flush;
  yield* kvmMmuRemoteFlushOrZap(mmu, invalidList, flush);
  kvm.emit({ e: 'lockBreak', holder });
  yield* lock.condReschedWrite(kvm.yieldOnContention);
  return false;
}
