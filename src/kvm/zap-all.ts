import { modelAssert } from '../runtime/model-bug.js';
import { op2, WRITE } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import type { ShadowMmu } from './shadow-mmu.js';
import { isObsoleteSp, type ShadowPage } from './shadow-page.js';
import { __kvmMmuPrepareZapPage, kvmMmuCommitZapPage, requestRootDrop } from './shadow-zap.js';

/**
 * Zapping every shadow page: the shadow MMU's part of the fast invalidate flow by
 * generation (threads 000 and 002, restored in 2019; the flow itself, shared with
 * the TDP MMU, is in zap-all-fast.ts) and the lock-break zap-all it replaced on
 * memslot updates (the 2019 regression).
 * @kernel arch/x86/kvm/mmu/mmu.c kvm_zap_obsolete_pages, kvm_mmu_zap_all
 */

/**
 * The shadow MMU's part of kvm_mmu_zap_all_fast (see zap-all-fast.ts) under the
 * write lock: every page is obsolete by generation already; ask every vCPU to drop
 * its obsolete roots, then zap the obsolete pages in batches.
 */
export function* shadowZapAllFastLocked(mmu: ShadowMmu): Task {
  // Under mmu_lock: a vCPU must not drop a root whose pages we are about to free
  // without also being made to reload (and so flush) before its next entry.
  yield* requestRootDrop(mmu);
  yield* kvmZapObsoletePages(mmu);
}

/**
 * @kernel kvm_zap_obsolete_pages — walk active_mmu_pages from the oldest end and
 * stop at the first page that is not obsolete: everything newer was made after
 * the toggle. Drop the lock only after at least BATCH_ZAP_PAGES zaps (the
 * zapBatchPages setting, 10 as in the kernel) and restart from the tail; the
 * obsolete set only shrinks, so this ends however many pages vCPUs add meanwhile.
 * A zap that took other pages with it (a page's unsync children:
 * __kvm_mmu_prepare_zap_page's list_unstable) restarts the walk from the
 * oldest end too, without a lock break; their count goes into the batch.
 * Zapped pages wait on the invalid list across lock breaks, unflushed: every vCPU
 * was asked (and kicked, WAIT) to drop its obsolete roots before the first zap, so
 * none runs on them in a break, and a new root flushes its TLB. One commit (one
 * flush, which the kernel makes to fence lockless walkers) at the end.
 */
export function* kvmZapObsoletePages(mmu: ShadowMmu): Task {
  const kvm = mmu.kvm;
  const lock = kvm.mmuLock;
  lock.assertWriteHeld('kvm_zap_obsolete_pages');
  const invalidList: ShadowPage[] = [];
  const batchZapPages = kvm.settings.zapBatchPages;
  let batch = 0;
  // Called right after the generation toggle: every page on the list is obsolete,
  // and no new page is.
  const obsolete = mmu.active.count;
  // Obsolete pages taken off the list so far: those zapped, and roots still held (invalid, off the list).
  let taken = 0;
  // The mutant goes on from the newest end after a lock break, as kvm_mmu_zap_all restarts.
  let fromHead = false;
  // Pages on the invalid list when the current batch began: each batch (up to a lock break, or the
  // walk's end) is its own zapBatch event, so that a batch's figures are its own, not the walk's sum.
  let batchFrom = 0;
  const batchDone = (lockBreak: boolean) => {
    const pages = invalidList.length - batchFrom;
    if (lockBreak) {
      if (pages > 0) kvm.emit({ e: 'zapBatch', what: 'kvm_zap_obsolete_pages', pages, lockBreak });
    } else if (pages > 0 || obsolete > taken) {
      // The walk's end, with what it left (none, unless it stopped early): a walk
      // that stopped at a new page with no zap since its last break says so too.
      kvm.emit({ e: 'zapBatch', what: 'kvm_zap_obsolete_pages', pages, lockBreak, left: obsolete - taken });
    }
    batchFrom = invalidList.length;
  };
  for (let restart = true; restart; ) {
    restart = false;
    for (let sp = fromHead ? mmu.active.head : mmu.active.tail; sp !== null; ) {
      if (!isObsoleteSp(kvm, sp)) break;
      // Invalid pages leave the active list when zapped, roots still held included
      // (the kernel since a June 2020 patch; before, they went back to its head and
      // the walk skipped them): meeting one is a model bug; the kernel WARNs, skips.
      modelAssert(!sp.invalid, `kvm_zap_obsolete_pages: invalid sp ${sp.id} on active_mmu_pages`);
      if (batch >= batchZapPages && (yield* lock.condReschedWrite(kvm.yieldOnContention, () => batchDone(true)))) {
        const { others, offNs } = lock.lastBreak;
        kvm.emit({ e: 'lockBreak', holder: 'kvm_zap_obsolete_pages', left: obsolete - taken, others, offNs });
        batch = 0;
        restart = true;
        fromHead = kvm.mutation.acts('zap-obsolete-walk-from-head');
        break;
      }
      // Race: guests walking this page in hardware while we unlink it.
      yield op2(WRITE, mmu.objSpt, lock.obj);
      const next: ShadowPage | null = fromHead ? sp.older : sp.newer;
      const onList = mmu.active.count;
      const { nrZapped, listUnstable } = yield* __kvmMmuPrepareZapPage(mmu, sp, invalidList);
      batch += nrZapped;
      taken += onList - mmu.active.count;
      // Its unsync children went too, and `next` may be one of them (off the list
      // now): walk again from the end, lock held (the obsolete pages left are
      // where they were).
      if (listUnstable) {
        restart = true;
        break;
      }
      sp = next;
    }
  }
  batchDone(false);
  // No vCPU can run on an obsolete root (the request is pending everywhere) and a
  // new root flushes its TLB; the flush still fences lockless walkers before the free.
  yield* kvmMmuCommitZapPage(mmu, invalidList);
}

/**
 * @kernel kvm_mmu_zap_all as of v5.2/v5.3 (the regression thread 000 fixes) — zap
 * everything on active_mmu_pages from the head, and after each page, if mmu_lock
 * is contended or the slice is used up, drop it and restart from the head (and
 * restart at once when a zap took other pages with it: list_unstable). With
 * vCPUs running, pages they add during each break are at the head again: with
 * enough vCPUs the walk never reaches the end.
 */
export function* kvmMmuZapAllLockbreak(mmu: ShadowMmu): Task {
  const kvm = mmu.kvm;
  const lock = kvm.mmuLock;
  const began = kvm.rt.now();
  kvm.emit({ e: 'zapAllBegin', how: 'kvm_mmu_zap_all (lock-break)', pages: mmu.active.count });
  yield* lock.writeLock();
  const invalidList: ShadowPage[] = [];
  for (let restart = true; restart; ) {
    restart = false;
    for (let sp = mmu.active.head; sp !== null; ) {
      // Race: guests walking this page in hardware while we unlink it.
      yield op2(WRITE, mmu.objSpt, lock.obj);
      const older: ShadowPage | null = sp.older;
      // Its unsync children went too, `older` may be one of them: walk again from
      // the head, before any lock break, as the kernel does.
      if ((yield* __kvmMmuPrepareZapPage(mmu, sp, invalidList)).listUnstable) {
        restart = true;
        break;
      }
      if (yield* lock.condReschedWrite(kvm.yieldOnContention)) {
        // Its work is every page on the list, the vCPUs' new ones included.
        const { others, offNs } = lock.lastBreak;
        kvm.emit({ e: 'lockBreak', holder: 'kvm_mmu_zap_all', left: mmu.active.count, others, offNs });
        restart = true;
        break;
      }
      sp = older;
    }
  }
  yield* kvmMmuCommitZapPage(mmu, invalidList);
  yield* lock.writeUnlockY();
  kvm.emit({ e: 'zapAllEnd', how: 'kvm_mmu_zap_all (lock-break)', durationNs: kvm.rt.now() - began });
}
