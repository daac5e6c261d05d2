import { opPair, READ } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import type { Kvm } from './kvm.js';
import type { Vcpu } from './vcpu.js';
import { kvmMmuZapAllFast } from './zap-all-fast.js';

/**
 * MMIO SPTEs: a fault on a gfn in no memslot caches "no memslot here" in the
 * SPTE itself, stamped with the low bits of the memslots generation, so that
 * the next access exits straight to the MMIO fast path (an EPT misconfiguration,
 * or a #PF with a reserved bit set, under shadow paging) instead of a full fault.
 * The fast path trusts the SPTE only while the generation it carries is the
 * current one, and never while a memslot update is in progress.
 * @kernel arch/x86/kvm/mmu/spte.h, spte.c make_mmio_spte; mmu.c check_mmio_spte, handle_mmio_page_fault, kvm_mmu_invalidate_mmio_sptes
 */

/** Memslots generation bits an MMIO SPTE keeps in the kernel (MMIO_SPTE_GEN_MASK, bits 0 to 18). */
export const MMIO_SPTE_GEN_BITS = 19;

/**
 * An SPTE as walks return it: a pfn (>= 0), NO_SPTE, or an MMIO SPTE, -2 - its
 * generation. Negative numbers keep the walks' test for a usable leaf `>= 0`.
 */
export const NO_SPTE = -1;
export function mmioSpte(gen: number): number {
  return -2 - gen;
}
export function isMmioSpte(spte: number): boolean {
  return spte <= -2;
}
/** The generation an MMIO SPTE keeps (get_mmio_spte_generation). */
export function mmioSpteGen(spte: number): number {
  return -2 - spte;
}

/** The generation bits an MMIO SPTE keeps, as a mask (MMIO_SPTE_GEN_MASK at the mmioGenBits setting). */
export function mmioGenMask(kvm: Kvm): number {
  return 2 ** kvm.settings.mmioGenBits - 1;
}

/**
 * @kernel spte.c make_mmio_spte — the generation goes in masked: the
 * update-in-progress bit, above the mask, is dropped. Read from the memslots
 * published now (kvm_vcpu_memslots), which may be newer than the set the
 * fault found no memslot in.
 */
export function makeMmioSpte(kvm: Kvm): number {
  return mmioSpte(kvm.memslots.generation % (mmioGenMask(kvm) + 1));
}

/** The outcome of the MMIO fast path. */
export type MmioFastPath =
  /** RET_PF_EMULATE: the SPTE's generation is current; the access is emulated as MMIO */
  | 'emulate'
  /** RET_PF_INVALID: stale generation (or an update in progress): the full fault path */
  | 'invalid'
  /** RET_PF_RETRY: the SPTE is no longer an MMIO SPTE (zapped or replaced): re-enter the guest */
  | 'retry';

/**
 * @kernel mmu.c handle_mmio_page_fault, check_mmio_spte — the exit of an access
 * that reached an MMIO SPTE: read the SPTE locklessly, and if it is still an
 * MMIO SPTE, compare its generation with the current memslots' (kvm_vcpu_memslots);
 * an update in progress never matches.
 */
export function* handleMmioPageFault(vcpu: Vcpu, gfn: number): Generator<number, MmioFastPath, void> {
  const kvm = vcpu.kvm;
  // Race: a memslot swap publishing a set that holds the gfn (in progress) and
  // then storing its final generation, and a fault or zap replacing the SPTE,
  // against this lockless read of both. Why the in-progress bit exists: a fault
  // that found no memslot in the old set and read the generation of the new one
  // would otherwise stamp its SPTE with a generation that stays current.
  yield opPair(READ, kvm.mmu.spteObject(gfn), READ, kvm.objMemslots);
  // A software read of the SPTE (get_mmio_spte's lockless walk): no A bit set.
  const spte = kvm.mmu.walk(vcpu, gfn, false, false);
  if (!isMmioSpte(spte)) return 'retry';
  const spteGen = mmioSpteGen(spte);
  const slots = kvm.memslots;
  const gen = slots.generation % (mmioGenMask(kvm) + 1);
  let inProgress = slots.updateInProgress;
  if (inProgress && kvm.mutation.has('mmio-check-ignores-update-in-progress')) {
    inProgress = false;
    if (gen === spteGen) kvm.mutation.tookEffect();
  }
  const match = !inProgress && gen === spteGen;
  kvm.emit({ e: 'mmioCheck', vcpu: vcpu.id, gfn, spteGen, generation: slots.generation, gen, inProgress: slots.updateInProgress, match });
  return match ? 'emulate' : 'invalid';
}

/**
 * @kernel mmu.c kvm_mmu_invalidate_mmio_sptes — kvm_arch_memslots_updated with
 * each swap's final generation, before it is stored: MMIO SPTEs keep only its
 * low bits, so when those wrap to 0 an ancient MMIO SPTE could match a new
 * generation; zap everything the fast way (2019, thread 000 patch 3), TDP roots
 * too. The model has one address space, so no address-space bit is masked off.
 */
export function* kvmMmuInvalidateMmioSptes(kvm: Kvm, gen: number): Task {
  if (gen % (mmioGenMask(kvm) + 1) !== 0) return;
  if (kvm.mutation.acts('mmio-gen-wrap-no-zap')) return;
  kvm.emit({ e: 'mmioGenWrap', generation: gen });
  yield* kvmMmuZapAllFast(kvm);
}
