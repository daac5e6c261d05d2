import { isMmioSpte, makeMmioSpte, mmioSpteGen } from './mmio-spte.js';
import type { ShadowMmu } from './shadow-mmu.js';
import type { ShadowPage } from './shadow-page.js';
import { mmuPageZapPte } from './shadow-zap.js';
import type { Vcpu } from './vcpu.js';

/**
 * An MMIO SPTE met by a shadow-page sync. FNAME(sync_spte) re-reads the guest
 * PTE of each SPTE of an unsync page; when it still maps the MMIO SPTE's gfn,
 * sync_mmio_spte keeps the SPTE and stamps it again with the memslots generation
 * read now, without looking the gfn up in the memslots. A memslot create zaps no
 * MMIO SPTE (only the generation's wrap does, kvm_mmu_invalidate_mmio_sptes; the
 * slot flush runs for delete and move), so an MMIO SPTE made while its gfn had
 * no memslot, re-stamped after a create gave the gfn one, carries the current
 * generation: the MMIO fast path trusts it and emulates an access to memory as
 * MMIO (the oracle's stale-mmio).
 * @kernel arch/x86/kvm/mmu/mmu.c sync_mmio_spte, mark_mmio_spte; paging_tmpl.h FNAME(sync_spte); spte.c make_mmio_spte
 */

/**
 * Whether syncing `sp` reads the memslots generation: under syncMmioSpte=restamp
 * (the kernel's), when the page holds an MMIO SPTE. The caller announces the
 * memslots, read, in the step that syncs it.
 */
export function syncReadsGeneration(mmu: ShadowMmu, sp: ShadowPage): boolean {
  if (mmu.kvm.settings.syncMmioSpte !== 'restamp') return false;
  for (const v of sp.sptes.values()) if (isMmioSpte(v)) return true;
  return false;
}

/**
 * @kernel mmu.c sync_mmio_spte — SPTE `index` of `sp` is an MMIO SPTE and its
 * guest PTE still maps `gfn`: mark_mmio_spte stamps it with the generation of
 * the memslots the vCPU sees now (kvm_vcpu_memslots, under mmu_lock; the
 * update-in-progress bit is masked off, as for a fault's). syncMmioSpte=zap, a
 * candidate fix, drops it instead (mmu_spte_clear_no_track: in no rmap, never in
 * a TLB, nothing to flush), so the next access takes the full fault, which
 * looks the memslot up.
 */
export function syncMmioSpte(mmu: ShadowMmu, sp: ShadowPage, index: number, gfn: number, vcpu: Vcpu): void {
  const kvm = mmu.kvm;
  if (kvm.settings.syncMmioSpte === 'zap') {
    const old = sp.sptes.get(index);
    mmuPageZapPte(mmu, sp, index);
    if (kvm.listens('mmioSpteZap'))
      kvm.emit({ e: 'mmioSpteZap', vcpu: vcpu.id, gfn, gen: old !== undefined && isMmioSpte(old) ? mmioSpteGen(old) : -1, sp: sp.id });
    return;
  }
  const spte = makeMmioSpte(kvm);
  sp.sptes.set(index, spte);
  kvm.emit({
    e: 'mmioSpteSet',
    vcpu: vcpu.id,
    gfn,
    gen: mmioSpteGen(spte),
    inProgress: kvm.memslots.updateInProgress,
    root: -1,
    sp: sp.id,
    by: 'sync_mmio_spte',
  });
}
