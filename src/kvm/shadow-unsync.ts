import { opRead, opWrite } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import { kvmMmuSlotGfnWriteProtect } from './shadow-accounting.js';
import type { ShadowMmu } from './shadow-mmu.js';
import { isObsoleteSp, refPage, type ShadowPage, SPTES_PER_PAGE } from './shadow-page.js';
import { mmuPageZapPte } from './shadow-zap.js';
import type { Vcpu } from './vcpu.js';
import { kvmFlushRemoteTlbs } from './vcpu-requests.js';

/**
 * Unsync shadow pages. A guest table at level 1 is write-protected while
 * shadowed (account_shadowed) but not write-tracked: the first guest write to it
 * is not emulated. The fault marks the level-1 pages of that gfn unsync and maps
 * the gfn writable, and the guest goes on writing its table natively. An unsync
 * page's SPTEs may then be stale; it is synced when the guest must see its
 * writes: at a CR3 load of a root above it (KVM_REQ_MMU_SYNC, kvm_mmu_load →
 * kvm_mmu_sync_roots, which also write-protects the gfn again), and when a lookup
 * reuses it (kvm_mmu_find_shadow_page, which leaves it unsync).
 *
 * Syncing rebuilds the page's SPTEs from the guest's table (FNAME(sync_spte)):
 * an SPTE whose guest PTE no longer maps its gfn is dropped, the others stay.
 * The kernel zaps the page only when the sync fails (the guest table cannot be
 * read, or the page's role no longer fits the vCPU's MMU), which the model's
 * guest memory and single MMU role never give; zapping instead would make a
 * zap (and a flush) of every page the guest rewrote, which the kernel does not.
 * @kernel arch/x86/kvm/mmu/mmu.c mmu_try_to_unsync_pages, kvm_unsync_page, kvm_sync_page, mmu_sync_children, kvm_mmu_sync_roots
 */

const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * @kernel mmu.c mmu_try_to_unsync_pages — may a leaf mapping gfn be writable?
 * Not when the gfn is write-tracked (a table above level 1 shadows it): true,
 * keep it read-only. Otherwise every valid page shadowing gfn (level 1 only) is
 * made unsync, and the leaf may be writable: false.
 */
export function mmuTryToUnsyncPages(mmu: ShadowMmu, gfn: number): boolean {
  if (mmu.isWriteTracked(gfn)) return true;
  for (const sp of mmu.hash.bucket(gfn)) {
    if (sp.gfn !== gfn || !sp.hasGptes || sp.unsync || isObsoleteSp(mmu.kvm, sp)) continue;
    if (sp.level > 1) {
      // Only a lost write-track count gets here (the kernel WARNs); the accounting
      // check reports the count. The leaf is mapped writable, as it was before.
      if (mmu.kvm.listens('note'))
        mmu.kvm.emit({ e: 'note', text: `mmu_try_to_unsync_pages: sp ${sp.id} level ${sp.level} shadows gfn ${hex(gfn)}, which is not write-tracked` });
      continue;
    }
    kvmUnsyncPage(mmu, sp);
  }
  return false;
}

/** @kernel mmu.c kvm_unsync_page — the page goes unsync (kvm_mmu_mark_parents_unsync: see isBelow). */
function kvmUnsyncPage(mmu: ShadowMmu, sp: ShadowPage): void {
  sp.unsync = true;
  mmu.unsyncPages.add(sp);
  if (mmu.kvm.listens('note')) mmu.kvm.emit({ e: 'note', text: `kvm_unsync_page: sp ${sp.id} gfn ${hex(sp.gfn)} level 1 unsync, its gfn mapped writable` });
}

/**
 * @kernel mmu.c kvm_sync_page → FNAME(sync_spte) — rebuild the page's SPTEs from
 * the guest table it shadows: each one whose guest PTE no longer maps its gfn is
 * dropped. The model's guest PTEs map a page-table gfn's entries to consecutive
 * gfns (guest-virtual = guest-physical) and carry no permissions, so an SPTE that
 * still matches stays as it is. Returns whether one was dropped (flush).
 */
export function kvmSyncPage(mmu: ShadowMmu, sp: ShadowPage): boolean {
  const mapped = new Map<number, boolean>();
  let flush = false;
  for (const [index, gfn] of sp.translations!) {
    const range = Math.floor(gfn / SPTES_PER_PAGE);
    let still = mapped.get(range);
    if (still === undefined) {
      still = guestTableMaps(mmu, sp.gfn, gfn);
      mapped.set(range, still);
    }
    // Deleting the entry just visited is safe while iterating a Map.
    if (!still && mmuPageZapPte(mmu, sp, index)) flush = true;
  }
  return flush;
}

/** Scratch for guest walks. */
const walkOut = [0, 0, 0, 0];

/**
 * Whether the guest's page at `tableGfn`, read as a level-1 table, maps `gfn`:
 * some live address space translates gfn through it (a page holds one table at a time).
 */
function guestTableMaps(mmu: ShadowMmu, tableGfn: number, gfn: number): boolean {
  for (const pgd of mmu.guest.byPgd.keys()) if (mmu.guest.walk(pgd, gfn, walkOut) && walkOut[3] === tableGfn) return true;
  return false;
}

/**
 * Whether `sp` lies below the page `rootId` (its SPTEs reach it). The kernel
 * keeps unsync_child_bitmap on every page above an unsync one
 * (kvm_mmu_mark_parents_unsync) and walks down from the root; the model walks up
 * the parent_ptes of each unsync page instead, which finds the same pages.
 */
function isBelow(mmu: ShadowMmu, sp: ShadowPage, rootId: number): boolean {
  for (const ref of sp.parentPtes) {
    const parent = refPage(ref);
    if (parent === rootId || isBelow(mmu, mmu.sps[parent]!, rootId)) return true;
  }
  return false;
}

/** @kernel root->unsync_children as kvm_mmu_sync_roots tests it: some unsync page lies below the root. */
function hasUnsyncChildren(mmu: ShadowMmu, root: ShadowPage): boolean {
  for (const sp of mmu.unsyncPages) if (isBelow(mmu, sp, root.id)) return true;
  return false;
}

/**
 * @kernel mmu.c mmu_sync_children — under the write lock, every unsync page
 * below `root` is write-protected again (kvm_vcpu_write_protect_gfn), marked
 * sync (kvm_unlink_unsync_page) and rebuilt (kvm_sync_page); one flush if any
 * SPTE was write-protected or dropped. (The kernel may break the lock between
 * pages; the model syncs them in one hold.)
 */
export function* mmuSyncChildren(mmu: ShadowMmu, root: ShadowPage): Task {
  mmu.kvm.mmuLock.assertWriteHeld('mmu_sync_children');
  if (mmu.unsyncPages.size === 0) return;
  let flush = false;
  for (const sp of [...mmu.unsyncPages]) {
    if (!isBelow(mmu, sp, root.id)) continue;
    if (kvmMmuSlotGfnWriteProtect(mmu, sp.gfn)) flush = true;
    sp.unsync = false;
    mmu.unsyncPages.delete(sp);
    if (kvmSyncPage(mmu, sp)) flush = true;
    if (mmu.kvm.listens('note'))
      mmu.kvm.emit({ e: 'note', text: `mmu_sync_children: sp ${sp.id} gfn ${hex(sp.gfn)} level 1 synced below root ${root.id}, its gfn write-protected` });
  }
  if (flush) yield* kvmFlushRemoteTlbs(mmu.kvm, 'mmu_sync_children');
}

/**
 * @kernel mmu.c kvm_mmu_sync_roots — the KVM_REQ_MMU_SYNC a CR3 load raises:
 * look without the lock whether the current root has unsync pages below it, and
 * only then sync them under the write lock.
 */
export function* kvmMmuSyncRoots(mmu: ShadowMmu, vcpu: Vcpu): Task {
  if (vcpu.root.root < 0) return;
  const kvm = mmu.kvm;
  // Race: a fault on another vCPU making a page below this root unsync (under
  // mmu_lock) while we look without it (the kernel's smp_load_acquire of
  // unsync_children); a page unsynced after the look waits for the next CR3 load.
  yield opRead(mmu.objSpt);
  if (!hasUnsyncChildren(mmu, mmu.sps[vcpu.root.root]!)) return;
  yield* kvm.mmuLock.writeLock();
  // Race: guests walking the shadow tables in hardware while we drop SPTEs and
  // write-protect the synced tables again.
  yield opWrite(mmu.objSpt);
  yield* mmuSyncChildren(mmu, mmu.sps[vcpu.root.root]!);
  yield* kvm.mmuLock.writeUnlockY();
}
