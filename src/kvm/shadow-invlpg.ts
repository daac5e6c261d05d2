import { op2, opPair, READ, WRITE } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import type { WriteProtectFlush } from './events.js';
import { isMmioSpte } from './mmio-spte.js';
import type { ShadowMmu } from './shadow-mmu.js';
import { ROOT_LEVEL, type ShadowPage, SPTES_PER_PAGE, spteIndex } from './shadow-page.js';
import { fnameSyncSpte, guestTableMaps, hasUnsyncChildren, type SyncSpteResult } from './shadow-unsync.js';
import type { Vcpu } from './vcpu.js';
import { kvmFlushRemoteTlbs } from './vcpu-requests.js';

/**
 * The guest's INVLPG under shadow paging (workload.munmapFlush: invlpg). With
 * EPT off, VMX intercepts INVLPG (CPU_BASED_INVLPG_EXITING; setup_vmcs_config
 * clears it with EPT on, so under TDP the guest flushes its own TLB and KVM
 * sees nothing: the TDP model has no guest page tables, and the munmap keys do
 * nothing there). handle_invlpg passes the exit qualification, the linear
 * address, to kvm_mmu_invlpg, which calls kvm_mmu_invalidate_addr for every
 * root (KVM_MMU_ROOTS_ALL: INVLPG also flushes global translations, which any
 * cached root may hold) and counts vcpu->stat.invlpg:
 *
 * 1. kvm_x86_flush_tlb_gva: this vCPU's TLB entry of gva goes, first and
 *    without mmu_lock. Only this vCPU's: the guest's own shootdown IPIs to the
 *    other vCPUs running the process are not modelled.
 * 2. For the current root and each cached previous root that is a valid page,
 *    __kvm_mmu_invalidate_addr (kvm_mmu_invalidate_addr_in_root since 2025):
 *    under mmu_lock held for write, walk the shadow tables for gva from the
 *    root, stopping below a page with no unsync children; at an unsync level-1
 *    page whose SPTE for gva is present, FNAME(sync_spte) of that one SPTE
 *    (fnameSyncSpte, the per-SPTE code kvm_sync_page uses too): the guest PTE
 *    re-read, the SPTE dropped (mmu_page_zap_pte) when it no longer maps the
 *    gfn, an MMIO SPTE re-stamped (sync_mmio_spte); a dropped SPTE is flushed
 *    from every vCPU (kvm_flush_remote_tlbs_gfn, a whole flush in the model)
 *    before mmu_lock is dropped.
 *
 * The page stays unsync (nothing here clears sp->unsync or write-protects
 * the gfn): its other SPTEs wait for the next sync.
 * @kernel vmx.c handle_invlpg; mmu.c kvm_mmu_invlpg, kvm_mmu_invalidate_addr, __kvm_mmu_invalidate_addr; paging_tmpl.h FNAME(sync_spte)
 */

/**
 * @kernel mmu.c kvm_mmu_invlpg — the INVLPG intercept of `gva` (handle_invlpg):
 * kvm_mmu_invalidate_addr over KVM_MMU_ROOTS_ALL; ++vcpu->stat.invlpg is the
 * invlpg event Metrics counts.
 */
export function* kvmMmuInvlpg(mmu: ShadowMmu, vcpu: Vcpu, gva: number): Task {
  yield* kvmMmuInvalidateAddr(mmu, vcpu, gva);
}

/**
 * @kernel mmu.c kvm_mmu_invalidate_addr (roots KVM_MMU_ROOTS_ALL) — this vCPU's
 * TLB entry of gva first (kvm_x86_flush_tlb_gva), then each root in turn. The
 * roots are this vCPU's own and only its thread changes them: the slots are
 * read as each comes, as the kernel reads mmu->prev_roots[i].hpa.
 */
export function* kvmMmuInvalidateAddr(mmu: ShadowMmu, vcpu: Vcpu, gva: number): Task {
  const kvm = mmu.kvm;
  // Only this vCPU fills or flushes its TLB, and it is out of the guest: no step of its own.
  const had = vcpu.tlb.delete(gva);
  kvm.emit({ e: 'invlpg', vcpu: vcpu.id, gva, tlbEntry: had });
  yield* kvmMmuInvalidateAddrInRoot(mmu, vcpu, gva, vcpu.root.root, false);
  for (let i = 0; i < vcpu.prevRoots.length; i++) yield* kvmMmuInvalidateAddrInRoot(mmu, vcpu, gva, vcpu.prevRoots[i]!.root, true);
}

/**
 * The unsync level-1 page and the index of its present SPTE for gva that the
 * walk from `root` reaches, or null: for_each_shadow_entry_using_root, which
 * stops at a non-present entry, and the walk's break below a page with no
 * unsync children (an unsync page's parents all have some:
 * kvm_mmu_mark_parents_unsync).
 */
function unsyncSpteOf(mmu: ShadowMmu, root: ShadowPage, gva: number): { sp: ShadowPage; index: number } | null {
  let sp = root;
  for (let level = ROOT_LEVEL; level > 1; level--) {
    if (!hasUnsyncChildren(mmu, sp)) return null;
    const child = sp.sptes.get(spteIndex(gva, level));
    if (child === undefined) return null;
    sp = mmu.sps[child]!;
  }
  const index = gva % SPTES_PER_PAGE;
  return sp.unsync && sp.sptes.has(index) ? { sp, index } : null;
}

/**
 * @kernel mmu.c __kvm_mmu_invalidate_addr — one root (`prev`: a cached previous
 * root). An empty slot (INVALID_PAGE) is skipped without the lock. Under the
 * write lock: the walk, FNAME(sync_spte) of an unsync SPTE it reaches, and,
 * when that dropped a present SPTE, kvm_flush_remote_tlbs_gfn before the
 * unlock. (vcpu_clear_mmio_info: the per-vCPU MMIO info cache is not modelled.)
 */
function* kvmMmuInvalidateAddrInRoot(mmu: ShadowMmu, vcpu: Vcpu, gva: number, rootId: number, prev: boolean): Task {
  if (rootId < 0) return;
  const kvm = mmu.kvm;
  const lock = kvm.mmuLock;
  yield* lock.writeLock();
  lock.assertWriteHeld('__kvm_mmu_invalidate_addr');
  // Race: guests walking the shadow tables in hardware while we drop the SPTE
  // (a TLB refilled from it before the drop is what the flush below is for);
  // notifiers and faults queueing on mmu_lock; with shared processes, another
  // vCPU's guest kernel clearing or setting this PTE again (the unsync table is
  // writable: the guest writes it natively) while we read it (guestTick's step
  // for that announces the shared process state, written).
  const shared = mmu.sharedProcesses;
  yield shared === null ? op2(WRITE, mmu.objSpt, lock.obj) : opPair(WRITE, mmu.objSpt, READ, shared.obj);
  const found = unsyncSpteOf(mmu, mmu.sps[rootId]!, gva);
  if (found !== null) {
    const { sp, index } = found;
    const still = guestTableMaps(mmu, sp.gfn, sp.translations!.get(index)!);
    if (still && isMmioSpte(sp.sptes.get(index)!) && kvm.settings.syncMmioSpte === 'restamp') {
      // Race: a memslot swap publishing a set, or storing its final generation,
      // against the generation sync_mmio_spte reads under mmu_lock (the swap takes
      // no mmu_lock), as in mmu_sync_children.
      yield opPair(WRITE, mmu.objSpt, READ, kvm.objMemslots);
    }
    const result: SyncSpteResult = fnameSyncSpte(mmu, sp, index, still, vcpu);
    let flush: WriteProtectFlush = 'none needed';
    if (result === 'dropped') {
      // The flush comes before the unlock: the SPTE is gone from the rmap, so a
      // notifier that takes mmu_lock next (kvm_unmap_gfn_range) finds nothing to
      // zap and returns without a flush while another vCPU's TLB still maps the
      // gfn. The mutant flushes only this vCPU's entry (step 1).
      if (kvm.mutation.acts('invlpg-no-remote-flush')) flush = 'skipped';
      else {
        flush = 'done';
        kvm.emit({ e: 'invlpgSyncSpte', vcpu: vcpu.id, gva, root: rootId, prev, sp: sp.id, result, flush });
        yield* kvmFlushRemoteTlbs(kvm, 'kvm_mmu_invalidate_addr');
      }
    }
    if (flush !== 'done') kvm.emit({ e: 'invlpgSyncSpte', vcpu: vcpu.id, gva, root: rootId, prev, sp: sp.id, result, flush });
  }
  yield* lock.writeUnlockY();
}
