import { ModelBug } from '../runtime/model-bug.js';
import { type Op, opWrite } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import { isMmioSpte } from './mmio-spte.js';
import { unaccountShadowed } from './shadow-accounting.js';
import type { ShadowMmu } from './shadow-mmu.js';
import { isObsoleteSp, leafPfn, leafWritable, ROOT_LEVEL, refIndex, refPage, type ShadowPage, spteRef } from './shadow-page.js';
import { kvmUnlinkUnsyncPage, mmuUnsyncWalk } from './shadow-unsync.js';
import { kvmFlushRemoteTlbs, kvmMakeAllCpusRequest, rootZapRequest } from './vcpu-requests.js';

/**
 * Zapping shadow pages in two phases: prepare (unlink from everything, move to an
 * invalid list, or mark invalid and leave in place when it is some vCPU's root),
 * then commit (one remote TLB flush, then free).
 * @kernel arch/x86/kvm/mmu/mmu.c __kvm_mmu_prepare_zap_page, kvm_mmu_commit_zap_page
 */

/**
 * Asks every vCPU to drop its obsolete or zapped roots (WAIT). While the request
 * goes round, a vCPU it has not reached may pass its entry check on a root that
 * was just marked: the request's IPI kicks it out before the zapper goes on, so
 * the oracle does not count that entry (ShadowMmu.rootDropInFlight).
 */
export function* requestRootDrop(mmu: ShadowMmu): Task {
  mmu.rootDropInFlight++;
  yield* kvmMakeAllCpusRequest(mmu.kvm, rootZapRequest(mmu.kvm));
  mmu.rootDropInFlight--;
}

/** Removes parent pte `ref` from `child`'s parent_ptes. */
function removeParentPte(child: ShadowPage, ref: number): void {
  const i = child.parentPtes.indexOf(ref);
  if (i < 0) throw new ModelBug(`sp ${child.id}: parent pte ${ref} missing`);
  child.parentPtes[i] = child.parentPtes[child.parentPtes.length - 1]!;
  child.parentPtes.pop();
}

/** link_shadow_page: `parent`'s entry `index` points at `child`. */
export function linkShadowPage(parent: ShadowPage, index: number, child: ShadowPage): void {
  parent.sptes.set(index, child.id);
  child.parentPtes.push(spteRef(parent.id, index));
}

/**
 * @kernel mmu_page_zap_pte — clears entry `index` of `sp`: a leaf leaves its gfn's
 * rmap, a link leaves the child's parent_ptes. Returns whether an entry was present
 * (a TLB may still hold what it mapped).
 */
export function mmuPageZapPte(mmu: ShadowMmu, sp: ShadowPage, index: number): boolean {
  const v = sp.sptes.get(index);
  if (v === undefined) return false;
  sp.sptes.delete(index);
  const ref = spteRef(sp.id, index);
  if (sp.level > 1) {
    removeParentPte(mmu.sps[v]!, ref);
  } else if (isMmioSpte(v)) {
    // mmu_spte_clear_no_track: in no rmap, never in a TLB: nothing to flush.
    sp.translations!.delete(index);
    return false;
  } else {
    const gfn = sp.translations!.get(index)!;
    sp.translations!.delete(index);
    mmu.rmap.remove(gfn, ref);
    mmu.kvm.emit({ e: 'spteSet', root: -1, sp: sp.id, gfn, oldPfn: leafPfn(v), newPfn: -1, level: 1, writable: leafWritable(v) });
    mmu.kvm.rt.charge(mmu.kvm.costs.zapSpteNs);
  }
  return true;
}

/** @kernel kvm_mmu_page_unlink_children — drop every SPTE of the page. */
function unlinkChildren(mmu: ShadowMmu, sp: ShadowPage): void {
  // Deleting the entry just visited is safe while iterating a Map.
  for (const index of sp.sptes.keys()) mmuPageZapPte(mmu, sp, index);
}

/** @kernel kvm_mmu_unlink_parents — clear every SPTE that points at the page. */
function unlinkParents(mmu: ShadowMmu, sp: ShadowPage): void {
  for (const ref of sp.parentPtes) mmu.sps[refPage(ref)]!.sptes.delete(refIndex(ref));
  sp.parentPtes.length = 0;
}

/**
 * @kernel mmu_zap_unsync_children — before a page above level 1 is zapped, every
 * unsync page below it is zapped onto the same list (kvm_mmu_prepare_zap_page,
 * which marks it sync: kvm_unlink_unsync_page), batch by batch, each batch found
 * afresh from the page (mmu_unsync_walk), until none is left. Cut off from the
 * tree, an unsync page would keep stale SPTEs that nothing syncs before a lookup
 * reuses it. Returns how many were zapped. The kernel clears each zapped page's
 * unsync_child_bitmap bits on the way up (mmu_pages_clear_parents); the model
 * keeps no bitmap and finds the unsync pages below a page through their
 * parent_ptes, which the zap has cleared. No yield: all of it is under mmu_lock,
 * in the step of the zap that finds them.
 */
function* mmuZapUnsyncChildren(mmu: ShadowMmu, parent: ShadowPage, invalidList: ShadowPage[]): Generator<Op, number, void> {
  if (parent.level === 1 || mmu.unsyncPages.size === 0) return 0;
  let zapped = 0;
  for (let pages = mmuUnsyncWalk(mmu, parent); pages.length > 0; pages = mmuUnsyncWalk(mmu, parent)) {
    for (const sp of pages) {
      yield* kvmMmuPrepareZapPage(mmu, sp, invalidList);
      zapped++;
    }
  }
  return zapped;
}

/** What __kvm_mmu_prepare_zap_page reports. */
export interface PrepareZap {
  /** nr_zapped: pages moved to the invalid list: the unsync children zapped first, and the page itself unless it is still some vCPU's root. */
  readonly nrZapped: number;
  /**
   * list_unstable: pages other than this one were zapped (its unsync children),
   * so they may be gone from active_mmu_pages, the next one a caller's list walk
   * remembered among them: the walk must restart.
   */
  readonly listUnstable: boolean;
}

/**
 * @kernel __kvm_mmu_prepare_zap_page — zap the page's unsync children first
 * (mmuZapUnsyncChildren); unlink the page; unaccount it unless it was already
 * invalid (so that runs once); then either move it to `invalidList` (no root
 * references it), or take it off active_mmu_pages and leave it to the last vCPU
 * that lets go. Marks it invalid. Zapping a root that was not already obsolete
 * asks every vCPU to drop it.
 */
export function* __kvmMmuPrepareZapPage(mmu: ShadowMmu, sp: ShadowPage, invalidList: ShadowPage[]): Generator<Op, PrepareZap, void> {
  const kvm = mmu.kvm;
  kvm.mmuLock.assertWriteHeld('__kvm_mmu_prepare_zap_page');
  if (sp.freed) throw new ModelBug(`prepare_zap of freed sp ${sp.id}`);
  const wasInvalid = sp.invalid;
  // Traced first, before anything is unlinked, as the kernel traces.
  if (!wasInvalid) kvm.emit({ e: 'spZap', sp: sp.id, gfn: sp.gfn, level: sp.level, root: sp.rootCount > 0, gen: sp.mmuValidGen, direct: sp.direct });
  // A root zapped while in use, zapped again as its last reference goes (mmu_free_root_page): traced again, role.invalid set.
  else if (kvm.listens('spZapInvalid')) kvm.emit({ e: 'spZapInvalid', sp: sp.id, gfn: sp.gfn, level: sp.level, gen: sp.mmuValidGen, direct: sp.direct });
  const children = yield* mmuZapUnsyncChildren(mmu, sp, invalidList);
  unlinkChildren(mmu, sp);
  unlinkParents(mmu, sp);
  if (!wasInvalid && sp.hasGptes) unaccountShadowed(mmu, sp);
  if (sp.unsync) kvmUnlinkUnsyncPage(mmu, sp, '__kvm_mmu_prepare_zap_page', -1);
  let zapped = children;
  let zappedRoot = false;
  if (sp.onActiveList) mmu.active.remove(sp);
  if (sp.rootCount === 0) {
    zapped++;
    invalidList.push(sp);
    mmu.nUsedMmuPages--;
  } else {
    // Still some vCPU's root: it stays allocated until the last reference goes. A
    // page that was already obsolete needs no request: the fast zap sent one.
    zappedRoot = !isObsoleteSp(kvm, sp);
  }
  // The mutant asks before the store below, as the code did before thread 003's
  // fix: a vCPU that services the request in between finds the root valid.
  const askedEarly = zappedRoot && kvm.mutation.acts('zap-root-request-before-invalid');
  if (askedEarly) {
    yield* requestRootDrop(mmu);
    // Race (the mutant's): a vCPU servicing the request, whose is_obsolete_root
    // reads role.invalid without mmu_lock, before the store below.
    yield opWrite(mmu.objSpt);
    // The trace line of the zap came first, as the kernel traces: this says when the store is seen.
    if (kvm.listens('note')) kvm.emit({ e: 'note', text: `sp ${sp.id} role.invalid = 1, after the request (the mutant's order)` });
  }
  sp.invalid = true;
  if (!wasInvalid) kvm.rt.charge(kvm.costs.zapShadowPageNs);
  // Only now, with role.invalid set: a vCPU that services the request must see the
  // root as invalid, or it would keep it and enter the guest on it. (No step of
  // its own: the store is in the step before the request's first, which is where
  // a vCPU's bit is set; the kernel's request orders the two with a barrier.)
  if (zappedRoot && !askedEarly && !kvm.mutation.acts('zap-root-no-request')) yield* requestRootDrop(mmu);
  return { nrZapped: zapped, listUnstable: children > 0 };
}

/** @kernel kvm_mmu_prepare_zap_page — __kvm_mmu_prepare_zap_page for a caller that walks no list: returns nr_zapped (the kernel, whether it is nonzero). */
export function* kvmMmuPrepareZapPage(mmu: ShadowMmu, sp: ShadowPage, invalidList: ShadowPage[]): Generator<Op, number, void> {
  return (yield* __kvmMmuPrepareZapPage(mmu, sp, invalidList)).nrZapped;
}

/**
 * @kernel kvm_mmu_commit_zap_page — flush every vCPU's TLB (a WAIT request, which
 * also fences lockless walkers), then free the pages. `flush` false is a
 * mutant's commit (zap-oldest-no-flush): the kernel always flushes.
 */
export function* kvmMmuCommitZapPage(mmu: ShadowMmu, invalidList: ShadowPage[], flush = true): Task {
  if (invalidList.length === 0) return;
  const kvm = mmu.kvm;
  kvm.mmuLock.assertWriteHeld('kvm_mmu_commit_zap_page');
  if (flush) yield* kvmFlushRemoteTlbs(kvm, 'kvm_mmu_commit_zap_page');
  for (const sp of invalidList) {
    if (!(sp.invalid && sp.rootCount === 0 && !sp.freed)) throw new ModelBug(`commit_zap of sp ${sp.id}: invalid=${sp.invalid} root_count=${sp.rootCount}`);
    mmu.hash.remove(sp);
    sp.freed = true;
    mmu.liveCount--;
    kvm.emit({ e: 'spFree', sp: sp.id });
    if (sp.level === ROOT_LEVEL) kvm.emit({ e: 'rootFree', root: sp.id });
  }
  invalidList.length = 0;
}

/** @kernel kvm_mmu_remote_flush_or_zap — commit if anything was zapped, else flush if asked. */
export function* kvmMmuRemoteFlushOrZap(mmu: ShadowMmu, invalidList: ShadowPage[], flush: boolean): Task {
  if (invalidList.length > 0) yield* kvmMmuCommitZapPage(mmu, invalidList);
  else if (flush) yield* kvmFlushRemoteTlbs(mmu.kvm, 'kvm_mmu_remote_flush_or_zap');
}
