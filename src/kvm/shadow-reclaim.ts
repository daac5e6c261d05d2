import { opWrite } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import { InputError } from '../scenario/input-error.js';
import type { Memslots } from './memslots.js';
import type { ShadowMmu } from './shadow-mmu.js';
import type { ShadowPage } from './shadow-page.js';
import { __kvmMmuPrepareZapPage, kvmMmuCommitZapPage } from './shadow-zap.js';
import type { Vcpu } from './vcpu.js';

/**
 * Shadow-page reclaim: the shadow MMU keeps at most n_max_mmu_pages pages in
 * use; when fewer than KVM_MIN_FREE_MMU_PAGES are left before a fault maps or a
 * root is allocated, the oldest pages that are nobody's root are zapped (one
 * commit: one remote TLB flush, then free) until KVM_REFILL_PAGES are free.
 * Not modelled: KVM_SET_NR_MMU_PAGES at run time and the shrink-to-goal zap of
 * kvm_mmu_change_mmu_pages (the limit is fixed for a run: the maxMmuPages
 * setting, or the default from the memslots as they are), and the mmu_shrinker.
 * @kernel arch/x86/kvm/mmu/mmu.c make_mmu_pages_available, kvm_mmu_zap_oldest_mmu_pages, kvm_mmu_available_pages
 */

/** KVM_MIN_FREE_MMU_PAGES: fewer free pages than this and a fault or root load reclaims first. */
export const KVM_MIN_FREE_MMU_PAGES = 5;
/** KVM_REFILL_PAGES: a reclaim zaps until this many pages are free (KVM_REFILL_PAGES - available). */
export const KVM_REFILL_PAGES = 25;
/** The default limit is 20 per mille of the memslots' pages (kernel: n_memslots_pages / KVM_MEMSLOT_PAGES_TO_MMU_PAGES_RATIO, 50)... */
export const KVM_MEMSLOT_PAGES_TO_MMU_PAGES_RATIO = 50;
/** ...and never below KVM_MIN_ALLOC_MMU_PAGES. */
export const KVM_MIN_ALLOC_MMU_PAGES = 64;

/**
 * @kernel kvm_arch_commit_memory_region (no KVM_SET_NR_MMU_PAGES given) — the
 * default n_max_mmu_pages: 1/50 of the pages in all memslots, at least 64.
 */
export function kvmMmuDefaultMmuPages(memslots: Memslots): number {
  let pages = 0;
  for (const s of memslots.slots) pages += s.npages;
  return Math.max(Math.floor(pages / KVM_MEMSLOT_PAGES_TO_MMU_PAGES_RATIO), KVM_MIN_ALLOC_MMU_PAGES);
}

/** kvm->arch.n_max_mmu_pages: the maxMmuPages setting (KVM_SET_NR_MMU_PAGES), or the kernel's default for the memslots now. */
export function nMaxMmuPages(mmu: ShadowMmu): number {
  const set = mmu.kvm.settings.maxMmuPages;
  return set === 'auto' ? kvmMmuDefaultMmuPages(mmu.kvm.memslots) : set;
}

/** @kernel kvm_mmu_available_pages — n_max_mmu_pages - n_used_mmu_pages, 0 when used is at or above the limit. */
export function kvmMmuAvailablePages(mmu: ShadowMmu): number {
  return Math.max(0, nMaxMmuPages(mmu) - mmu.nUsedMmuPages);
}

/**
 * @kernel kvm_mmu_zap_oldest_mmu_pages — walk active_mmu_pages from the oldest
 * end, passing roots by (zapping a root frees nothing and makes its vCPUs
 * reload), prepare a zap of each other page (its unsync children go with it:
 * then the walk starts again from the oldest end, since the page it would go to
 * next may be gone), until at least `nrToZap` pages are on the invalid list;
 * then commit them all at once (one remote TLB flush, then free). Returns the
 * pages zapped (the kernel adds them to its mmu_recycled stat).
 */
export function* kvmMmuZapOldestMmuPages(mmu: ShadowMmu, nrToZap: number): Generator<number, number, void> {
  const kvm = mmu.kvm;
  kvm.mmuLock.assertWriteHeld('kvm_mmu_zap_oldest_mmu_pages');
  if (mmu.active.count === 0) return 0;
  // Race: guests walking the shadow tables in hardware (no lock) while the
  // reclaim unlinks the oldest pages: their TLBs may keep what those pages
  // mapped until the commit's flush below.
  yield opWrite(mmu.objSpt);
  const invalidList: ShadowPage[] = [];
  let total = 0;
  restart: for (;;) {
    for (let sp = mmu.active.tail; sp !== null; ) {
      // Taken before the zap takes sp off the list (list_for_each_entry_safe_reverse).
      const newer: ShadowPage | null = sp.newer;
      if (sp.rootCount > 0) {
        sp = newer;
        continue;
      }
      const { nrZapped, listUnstable } = yield* __kvmMmuPrepareZapPage(mmu, sp, invalidList);
      total += nrZapped;
      if (total >= nrToZap) break restart;
      if (listUnstable) continue restart;
      sp = newer;
    }
    break;
  }
  // The mutant commits without the flush: a vCPU's TLB keeps a leaf of a freed
  // page, and a later invalidation of its gfn finds no SPTE (no rmap) to flush for.
  const flush = !(invalidList.length > 0 && kvm.mutation.acts('zap-oldest-no-flush'));
  if (kvm.listens('shadowReclaim')) kvm.emit({ e: 'shadowReclaim', wanted: nrToZap, zapped: total, used: mmu.nUsedMmuPages, max: nMaxMmuPages(mmu), flush });
  yield* kvmMmuCommitZapPage(mmu, invalidList, flush);
  return total;
}

/**
 * @kernel make_mmu_pages_available — under the write lock, before a shadow
 * fault maps (FNAME(page_fault), after the stale check) and before a shadow
 * root is allocated: with fewer than KVM_MIN_FREE_MMU_PAGES available, zap the
 * oldest pages until KVM_REFILL_PAGES are. Still none available (every page in
 * use is some vCPU's root) is the kernel's -ENOSPC, which fails KVM_RUN and
 * so kills the guest: only a limit too small for the vCPUs' roots does that,
 * so the model says so as bad input.
 */
export function* makeMmuPagesAvailable(mmu: ShadowMmu, vcpu: Vcpu): Task {
  mmu.kvm.mmuLock.assertWriteHeld('make_mmu_pages_available');
  const avail = kvmMmuAvailablePages(mmu);
  if (avail >= KVM_MIN_FREE_MMU_PAGES) return;
  yield* kvmMmuZapOldestMmuPages(mmu, KVM_REFILL_PAGES - avail);
  if (kvmMmuAvailablePages(mmu) > 0) return;
  throw new InputError(
    `settings.maxMmuPages ${nMaxMmuPages(mmu)}: ${mmu.nUsedMmuPages === 1 ? 'the 1 shadow page in use is a root' : `all ${mmu.nUsedMmuPages} shadow pages in use are roots`}, which the reclaim does not zap, so make_mmu_pages_available fails with -ENOSPC and ${vcpu.name}'s KVM_RUN fails; ` +
      `expected maxMmuPages above the roots the vCPUs hold (up to 4 each: the current one and 3 cached), or auto`,
  );
}
