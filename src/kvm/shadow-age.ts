import { type Op, opWrite } from '../runtime/op.js';
import type { ShadowMmu } from './shadow-mmu.js';
import { leafPfn, refIndex, refPage } from './shadow-page.js';

/**
 * @kernel mmu.c kvm_age_gfn's rmap part, kvm_age_rmap — the A bit of every leaf
 * mapping [start, end) cleared; whether one was set. Under mmu_lock for write in
 * either era: before v6.15 __kvm_handle_hva_range holds it (`lockless` false),
 * since then kvm_age_gfn takes it itself for the rmaps (`lockless` true). Zaps and
 * faults hold mmu_lock too: only the guest's walk setting an A bit races here.
 */
export function* kvmAgeRmap(mmu: ShadowMmu, start: number, end: number, lockless: boolean): Generator<Op, boolean, void> {
  const kvm = mmu.kvm;
  if (lockless) yield* kvm.mmuLock.writeLock();
  kvm.mmuLock.assertWriteHeld('kvm_age_rmap');
  let young = false;
  for (const gfn of mmu.rmap.gfnsIn(start, end)) {
    // Race: a guest's walk setting the A bit of a leaf of this gfn (no lock).
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
  if (lockless) yield* kvm.mmuLock.writeUnlockY();
  return young;
}
