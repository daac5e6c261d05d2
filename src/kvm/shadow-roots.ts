import { ModelBug, modelAssert } from '../runtime/model-bug.js';
import { op2, opWrite, READ, WRITE } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import { KVM_REQ_LOAD_MMU_PGD } from './requests.js';
import type { ShadowMmu } from './shadow-mmu.js';
import { isObsoleteSp, ROOT_LEVEL, type ShadowPage } from './shadow-page.js';
import { makeMmuPagesAvailable } from './shadow-reclaim.js';
import { mmuSyncChildren } from './shadow-unsync.js';
import { kvmMmuCommitZapPage, kvmMmuPrepareZapPage } from './shadow-zap.js';
import type { RootInfo, Vcpu } from './vcpu.js';
import { kvmMakeRequest } from './vcpu-requests.js';

/**
 * Shadow-MMU roots of a vCPU: the current root and the cache of previous roots
 * (KVM_MMU_NUM_PREV_ROOTS = 3) that a CR3 load may switch back to without
 * rebuilding; freeing them, all or only the obsolete ones.
 * @kernel arch/x86/kvm/mmu/mmu.c kvm_mmu_load, kvm_mmu_free_roots, kvm_mmu_new_pgd, kvm_mmu_free_obsolete_roots
 */

/** KVM_MMU_ROOT_CURRENT. */
export const KVM_MMU_ROOT_CURRENT = 1;
/** KVM_MMU_ROOT_PREVIOUS(i). */
export function kvmMmuRootPrevious(i: number): number {
  return 1 << (i + 1);
}
/** KVM_MMU_ROOTS_ALL. */
export const KVM_MMU_ROOTS_ALL = 0xf;

/** Why roots are being freed: a request handler (a root zap) or the vCPU's own CR3 switch. */
export type RootFreeCause = 'zap-request' | 'cr3';

/**
 * @kernel kvm_mmu_load → mmu_alloc_shadow_roots → mmu_alloc_root — under the write
 * lock, find or make the root page shadowing the guest's CR3, take a root
 * reference, sync the unsync pages below it (kvm_mmu_sync_roots), then flush the
 * TLB for the new root.
 */
export function* kvmMmuLoad(mmu: ShadowMmu, vcpu: Vcpu): Task {
  const kvm = mmu.kvm;
  if (vcpu.cr3 < 0) throw new ModelBug(`${vcpu.name}: kvm_mmu_load with no guest CR3`);
  yield* kvm.mmuLock.writeLock();
  // mmu_alloc_shadow_roots: room first, under the write lock, before the root is found or made.
  yield* makeMmuPagesAvailable(mmu, vcpu);
  // Race: guests walking the shadow tables (no lock) while a new root write-protects its gfn.
  yield op2(WRITE, mmu.objSpt, kvm.objRoots);
  mmu.assertGuestTableVisible(vcpu, vcpu.cr3);
  const sp = yield* mmu.getShadowPage(vcpu.cr3, ROOT_LEVEL, vcpu);
  if (sp.rootCount++ === 0) mmu.rootSps.add(sp);
  vcpu.root.pgd = vcpu.cr3;
  vcpu.root.root = sp.id;
  const afterZap = mmu.guestCpu(vcpu).droppedByZap.delete(vcpu.cr3);
  kvm.emit({ e: 'rootAlloc', vcpu: vcpu.id, root: sp.id, pgd: vcpu.cr3, afterZap });
  kvm.rt.charge(kvm.costs.rootLoadNs);
  // kvm_mmu_sync_roots: a root found in the hash may have unsync pages below it
  // (synced in this hold of mmu_lock; the kernel takes it again). The root is in
  // the vCPU's slot first, as mmu_alloc_shadow_roots leaves it: the sync may
  // break the lock, and a zap in the break must find the root held.
  yield* mmuSyncChildren(mmu, sp, vcpu);
  yield* kvm.mmuLock.writeUnlockY();
  vcpu.flushTlb();
}

/**
 * @kernel mmu_free_root_page — drop one root slot's reference; the last reference
 * to a page that was zapped while in use (invalid) zaps it for good.
 */
function* mmuFreeRootPage(mmu: ShadowMmu, vcpu: Vcpu, info: RootInfo, invalidList: ShadowPage[], cause: RootFreeCause): Task {
  if (info.root < 0) return;
  const kvm = mmu.kvm;
  kvm.mmuLock.assertWriteHeld('mmu_free_root_page');
  const sp = mmu.sps[info.root]!;
  if (sp.freed || sp.rootCount <= 0) throw new ModelBug(`vCPU${vcpu.id} frees root sp ${sp.id} with root_count ${sp.rootCount}${sp.freed ? ' (freed)' : ''}`);
  // A root dropped on a root-zap request has to be rebuilt if the vCPU runs on it
  // (its current root) or if it was still valid; a cached root the zap itself
  // invalidated would never have been used again.
  if (cause === 'zap-request' && info.pgd >= 0 && (info === vcpu.root || !sp.invalid)) mmu.guestCpu(vcpu).droppedByZap.add(info.pgd);
  info.root = -1;
  info.pgd = -1;
  sp.rootCount--;
  // Traced in the kernel's order: the put, then the zap the last put of an invalid root makes.
  kvm.emit({ e: 'rootPut', vcpu: vcpu.id, root: sp.id, count: sp.rootCount });
  if (sp.rootCount === 0 && sp.invalid) yield* kvmMmuPrepareZapPage(mmu, sp, invalidList);
  // Off the held roots once its zap (if any) has unaccounted it: n_used_mmu_pages
  // counts an invalid root until then, and the accounting the put is checked by says so.
  if (sp.rootCount === 0) mmu.rootSps.delete(sp);
}

/** @kernel kvm_mmu_free_roots — frees the selected previous roots, then the current one, under the write lock. */
export function* kvmMmuFreeRoots(mmu: ShadowMmu, vcpu: Vcpu, rootsToFree: number, cause: RootFreeCause): Task {
  let any = (rootsToFree & KVM_MMU_ROOT_CURRENT) !== 0 && vcpu.root.root >= 0;
  for (let i = 0; i < vcpu.prevRoots.length; i++) if (rootsToFree & kvmMmuRootPrevious(i) && vcpu.prevRoots[i]!.root >= 0) any = true;
  // Nothing valid selected: no need for the lock.
  if (!any) return;
  const kvm = mmu.kvm;
  yield* kvm.mmuLock.writeLock();
  // Race: other vCPUs choosing cached roots without the lock (fast_pgd_switch), and
  // guests walking pages the last reference's zap unlinks.
  yield op2(WRITE, mmu.objSpt, kvm.objRoots);
  const invalidList: ShadowPage[] = [];
  for (let i = 0; i < vcpu.prevRoots.length; i++) {
    if (rootsToFree & kvmMmuRootPrevious(i)) yield* mmuFreeRootPage(mmu, vcpu, vcpu.prevRoots[i]!, invalidList, cause);
  }
  if (rootsToFree & KVM_MMU_ROOT_CURRENT) yield* mmuFreeRootPage(mmu, vcpu, vcpu.root, invalidList, cause);
  yield* kvmMmuCommitZapPage(mmu, invalidList);
  yield* kvm.mmuLock.writeUnlockY();
}

/** @kernel kvm_mmu_unload — the KVM_REQ_MMU_RELOAD handler: every root goes, current and previous. */
export function* kvmMmuUnload(mmu: ShadowMmu, vcpu: Vcpu): Task {
  yield* kvmMmuFreeRoots(mmu, vcpu, KVM_MMU_ROOTS_ALL, 'zap-request');
  modelAssert(vcpu.root.root < 0 && vcpu.prevRoots.every((r) => r.root < 0), `vCPU${vcpu.id}: roots left after kvm_mmu_unload`);
}

/** @kernel is_obsolete_root — an empty slot is not obsolete; a root page is when is_obsolete_sp says so. */
export function isObsoleteRoot(mmu: ShadowMmu, root: number): boolean {
  if (root < 0) return false;
  return isObsoleteSp(mmu.kvm, mmu.sps[root]!);
}

/** The roots in a vCPU's prev_roots, as events name them (-1: an empty slot). */
function cachedRoots(vcpu: Vcpu): number[] {
  return vcpu.prevRoots.map((r) => r.root);
}

/**
 * @kernel kvm_mmu_free_obsolete_roots — the KVM_REQ_MMU_FREE_OBSOLETE_ROOTS handler
 * (thread 003): free only those of the current and previous roots that are
 * invalid or of an old generation; the rest stay.
 */
export function* kvmMmuFreeObsoleteRoots(mmu: ShadowMmu, vcpu: Vcpu): Task {
  // Race: a fast zap toggling mmu_valid_gen (roots) or a zap marking a root
  // invalid (shadow page tables), which is_obsolete_root reads here without
  // mmu_lock: which roots are freed depends on which came first.
  yield op2(READ, mmu.kvm.objRoots, mmu.objSpt);
  let mask = 0;
  const freed: number[] = [];
  /** Obsolete roots the loop kept (only the mutant's test keeps one). */
  const kept: number[] = [];
  if (isObsoleteRoot(mmu, vcpu.root.root)) {
    mask |= KVM_MMU_ROOT_CURRENT;
    freed.push(vcpu.root.root);
  }
  // The mutant is the loop as first posted in thread 003: it tested the current root each time.
  const testsCurrent = mmu.kvm.mutation.has('free-obsolete-roots-tests-current');
  for (let i = 0; i < vcpu.prevRoots.length; i++) {
    const prev = vcpu.prevRoots[i]!.root;
    const obsolete = isObsoleteRoot(mmu, prev);
    const tested = testsCurrent ? isObsoleteRoot(mmu, vcpu.root.root) : obsolete;
    // Which of the two it did, in this execution.
    if (tested !== obsolete) {
      mmu.kvm.mutation.tookEffect(
        () =>
          `kvm_mmu_free_obsolete_roots judged prev root sp ${prev} by the current root (the mutant's test): ${obsolete ? `sp ${prev} is obsolete, kept cached` : `sp ${prev} is valid, freed`}`,
      );
    }
    if (tested) {
      mask |= kvmMmuRootPrevious(i);
      freed.push(vcpu.prevRoots[i]!.root);
    } else if (obsolete) kept.push(prev);
  }
  if (mmu.kvm.listens('freeObsoleteRoots')) {
    mmu.kvm.emit({ e: 'freeObsoleteRoots', vcpu: vcpu.id, current: vcpu.root.root, prev: cachedRoots(vcpu), freed, kept });
  }
  if (mask !== 0) yield* kvmMmuFreeRoots(mmu, vcpu, mask, 'zap-request');
}

/**
 * @kernel is_root_usable — the slot holds a root for this pgd whose role matches.
 * role.invalid is part of the role, so a zapped root never matches; a root that is
 * obsolete only by generation does (the fast zap's request will free it).
 */
export function isRootUsable(mmu: ShadowMmu, info: RootInfo, pgd: number): boolean {
  if (info.root < 0 || info.pgd !== pgd) return false;
  const sp = mmu.sps[info.root]!;
  return sp.level === ROOT_LEVEL && !sp.direct && !sp.invalid;
}

function swapRoots(a: RootInfo, b: RootInfo): void {
  const { pgd, root } = a;
  a.pgd = b.pgd;
  a.root = b.root;
  b.pgd = pgd;
  b.root = root;
}

/**
 * @kernel cached_root_find_and_keep_current — keep the current root or one of the
 * previous roots for `pgd`. Each miss swaps the current slot with the next cached
 * one, which rotates the cache so that the old current root becomes the newest
 * previous root; if nothing matches, the least recently used root ends up in the
 * current slot and is freed.
 */
function* cachedRootFindAndKeepCurrent(mmu: ShadowMmu, vcpu: Vcpu, pgd: number): Generator<number, boolean, void> {
  if (isRootUsable(mmu, vcpu.root, pgd)) return true;
  for (const prev of vcpu.prevRoots) {
    swapRoots(vcpu.root, prev);
    if (isRootUsable(mmu, vcpu.root, pgd)) return true;
  }
  yield* kvmMmuFreeRoots(mmu, vcpu, KVM_MMU_ROOT_CURRENT, 'cr3');
  return false;
}

/**
 * @kernel cached_root_find_without_current — no current root: take a matching
 * previous root into the current slot and close the gap behind it.
 */
function cachedRootFindWithoutCurrent(mmu: ShadowMmu, vcpu: Vcpu, pgd: number): boolean {
  const prev = vcpu.prevRoots;
  const i = prev.findIndex((r) => isRootUsable(mmu, r, pgd));
  if (i < 0) return false;
  swapRoots(vcpu.root, prev[i]!);
  for (let j = i; j < prev.length - 1; j++) swapRoots(prev[j]!, prev[j + 1]!);
  prev[prev.length - 1]!.root = -1;
  prev[prev.length - 1]!.pgd = -1;
  return true;
}

/**
 * @kernel kvm_mmu_new_pgd → fast_pgd_switch — the guest loaded CR3 = pgd: switch
 * to a cached root if one fits (then the hardware root pointer is reloaded at
 * entry, and the root, in use again as a table, starts counting writes toward a
 * flood afresh); otherwise the current slot is left empty and kvm_mmu_reload
 * builds a root before the next entry.
 * Only for a CR3 other than the one loaded: kvm_set_cr3 does not call it for the same.
 */
export function* kvmMmuNewPgd(mmu: ShadowMmu, vcpu: Vcpu, pgd: number): Task {
  // Race: a zap marking a cached root invalid (under mmu_lock) while we look
  // without the lock. A root zapped after we pick it comes with a request that
  // frees it before the next entry.
  yield op2(READ, mmu.kvm.objRoots, mmu.objSpt);
  const hit = vcpu.root.root >= 0 ? yield* cachedRootFindAndKeepCurrent(mmu, vcpu, pgd) : cachedRootFindWithoutCurrent(mmu, vcpu, pgd);
  if (hit) {
    kvmMakeRequest(vcpu, KVM_REQ_LOAD_MMU_PGD);
    // Race: emulated writes to the root's table counting toward a flood (under
    // mmu_lock) against this lockless reset.
    yield opWrite(mmu.objSpt);
    const root = mmu.sps[vcpu.root.root];
    if (root !== undefined) root.writeFloodingCount = 0;
  }
  if (mmu.kvm.listens('newPgd')) mmu.kvm.emit({ e: 'newPgd', vcpu: vcpu.id, pgd, root: vcpu.root.root, prev: cachedRoots(vcpu) });
}
