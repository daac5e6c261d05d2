import { type Op, opWrite } from '../runtime/op.js';
import type { ShadowMmu } from './shadow-mmu.js';
import { leafPfn, refIndex, refPage } from './shadow-page.js';

/**
 * @kernel mmu.c kvm_rmap_age_gfn_range — the A bit of every leaf mapping
 * [start, end) cleared; whether one was set. `lockless` false (before v6.15):
 * __kvm_handle_hva_range holds mmu_lock for write. `lockless` true (v6.15 on,
 * the lockless-aging series' last patch): no mmu_lock at all; each gfn's rmap is
 * walked under that rmap's own bit lock (kvm_rmap_lock_readonly), which every
 * change to the rmap (pte_list_add / pte_list_remove, under mmu_lock) takes too,
 * and the A bit is cleared with clear_bit, an atomic RMW of the one bit.
 * The model's rmaps and SPTEs are one object (the shadow page tables): a gfn's
 * walk is one step announcing it written, atomic w.r.t. every step that changes
 * an rmap or an SPTE, as the rmap lock and the atomic clear make it.
 */
export function* kvmAgeRmap(mmu: ShadowMmu, start: number, end: number, lockless: boolean): Generator<Op, boolean, void> {
  const kvm = mmu.kvm;
  if (!lockless) kvm.mmuLock.assertWriteHeld('kvm_age_rmap');
  let young = false;
  // The next gfn with a leaf is looked for as the walk gets there (in the step of
  // the gfn before, the first one where the walk begins): under `lockless` a fault
  // may fill an rmap the walk has not reached yet, which it then finds, as the
  // kernel's walk of every gfn in order does.
  for (let gfn = mmu.rmap.firstIn(start, end); gfn >= 0; gfn = gfn + 1 < end ? mmu.rmap.firstIn(gfn + 1, end) : -1) {
    // Race: a guest's walk setting the A bit of a leaf of this gfn (no lock in
    // either era); under `lockless` also a fault adding to this gfn's rmap, a zap
    // dropping from it (the rmap lock orders them with this walk) and any other
    // store to the shadow tables, all under mmu_lock, which this walk does not take.
    yield opWrite(mmu.objSpt);
    for (const ref of mmu.rmap.get(gfn)) {
      const sp = mmu.sps[refPage(ref)]!;
      const pfn = leafPfn(sp.sptes.get(refIndex(ref))!);
      const was = mmu.accessed!.delete(ref);
      kvm.emit({ e: 'ageSpteRead', root: -1, sp: sp.id, gfn, pfn, young: was });
      if (!was) continue;
      young = true;
      kvm.emit({ e: 'ageSpte', root: -1, sp: sp.id, gfn, pfn, curPfn: pfn, plain: false });
      // A read-modify-write of one SPTE, as a zap's store.
      kvm.rt.charge(kvm.costs.zapSpteNs);
    }
  }
  return young;
}
