import { op2, opPair, opRead, READ, WRITE } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import type { SpSyncBy, WriteProtectFlush } from './events.js';
import { isMmioSpte } from './mmio-spte.js';
import { kvmMmuSlotGfnWriteProtect } from './shadow-accounting.js';
import type { ShadowMmu } from './shadow-mmu.js';
import { isObsoleteSp, refPage, type ShadowPage, SPTES_PER_PAGE } from './shadow-page.js';
import { syncMmioSpte, syncReadsGeneration } from './shadow-sync-mmio.js';
import { kvmMmuRemoteFlushOrZap, mmuPageZapPte } from './shadow-zap.js';
import type { Vcpu } from './vcpu.js';

/**
 * Unsync shadow pages. A guest table at level 1 is write-protected while
 * shadowed (account_shadowed) but not write-tracked: the first guest write to it
 * is not emulated. The fault marks the level-1 pages of that gfn unsync and maps
 * the gfn writable, and the guest goes on writing its table natively. An unsync
 * page's SPTEs may then be stale; it is synced when the guest must see its
 * writes: at a CR3 load of a root above it (KVM_REQ_MMU_SYNC, kvm_mmu_load →
 * kvm_mmu_sync_roots, which also write-protects the gfn again), and when a lookup
 * reuses it (kvm_mmu_find_shadow_page, which leaves it unsync). A zap of a page
 * above it zaps it too (mmu_zap_unsync_children, shadow-zap.ts).
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

/**
 * @kernel mmu.c kvm_unsync_page — the page goes unsync (kvm_mmu_mark_parents_unsync:
 * see pathBelow). Traced first, as the kernel traces kvm_mmu_unsync_page: the line
 * shows the page still sync.
 */
function kvmUnsyncPage(mmu: ShadowMmu, sp: ShadowPage): void {
  if (mmu.kvm.listens('spUnsync')) mmu.kvm.emit({ e: 'spUnsync', sp: sp.id, gfn: sp.gfn, level: sp.level, gen: sp.mmuValidGen });
  sp.unsync = true;
  mmu.unsyncPages.add(sp);
}

/**
 * @kernel mmu.c kvm_unlink_unsync_page — the page is marked sync. Traced first
 * (kvm_mmu_sync_page, the page still unsync), before the caller rebuilds or zaps
 * it: `root`, the root mmu_sync_children syncs below (-1 for a zap).
 */
export function kvmUnlinkUnsyncPage(mmu: ShadowMmu, sp: ShadowPage, by: SpSyncBy, root: number): void {
  const kvm = mmu.kvm;
  if (kvm.listens('spSync')) kvm.emit({ e: 'spSync', sp: sp.id, gfn: sp.gfn, level: sp.level, gen: sp.mmuValidGen, by, root });
  sp.unsync = false;
  mmu.unsyncPages.delete(sp);
}

/** What FNAME(sync_spte) did with one SPTE of an unsync page (fnameSyncSpte). */
export type SyncSpteResult =
  /** its guest PTE still maps the gfn: the SPTE stays as it is */
  | 'kept'
  /** an MMIO SPTE whose guest PTE still maps its gfn: sync_mmio_spte re-stamped it (syncMmioSpte=restamp) or dropped it (zap) */
  | 'mmio'
  /** its guest PTE no longer maps the gfn: dropped, and a TLB may hold it: the caller flushes */
  | 'dropped'
  /** its guest PTE no longer maps the gfn, an MMIO SPTE: dropped, in no TLB, nothing to flush */
  | 'dropped-mmio';

/**
 * @kernel paging_tmpl.h FNAME(sync_spte) — SPTE `index` of unsync page `sp`,
 * given whether its guest PTE (read by the caller: guestTableMaps) still maps
 * the SPTE's gfn: dropped when it does not; an MMIO SPTE that still matches goes
 * to sync_mmio_spte (shadow-sync-mmio.ts), which re-stamps it with the memslots
 * generation read now (the caller announced the memslots); a present SPTE that
 * still matches stays as it is (the model's guest PTEs carry no permissions).
 * The one place both callers share: kvm_sync_page (every SPTE of a page) and
 * kvm_mmu_invalidate_addr (the one SPTE an INVLPG's walk reaches, shadow-invlpg.ts).
 */
export function fnameSyncSpte(mmu: ShadowMmu, sp: ShadowPage, index: number, stillMapped: boolean, vcpu: Vcpu): SyncSpteResult {
  if (!stillMapped) return mmuPageZapPte(mmu, sp, index) ? 'dropped' : 'dropped-mmio';
  if (!isMmioSpte(sp.sptes.get(index)!)) return 'kept';
  syncMmioSpte(mmu, sp, index, sp.translations!.get(index)!, vcpu);
  return 'mmio';
}

/**
 * @kernel mmu.c kvm_sync_page → FNAME(sync_spte) — rebuild the page's SPTEs from
 * the guest table it shadows, each through fnameSyncSpte: one whose guest PTE
 * no longer maps its gfn is dropped. The model's guest PTEs map a page-table
 * gfn's entries to consecutive gfns (guest-virtual = guest-physical), so one
 * guest read answers for a whole table unless a process cleared a PTE. The
 * caller announced the memslots when syncReadsGeneration. Returns whether one
 * was dropped (flush). An MMIO SPTE dropped is never a flush here; the kernel
 * counts one whose guest PTE is not present as one (FNAME(prefetch_invalid_gpte)),
 * which flushes nothing a TLB holds.
 */
export function kvmSyncPage(mmu: ShadowMmu, sp: ShadowPage, vcpu: Vcpu): boolean {
  const mapped = new Map<number, boolean>();
  // A table maps its whole range unless a process cleared a PTE (munmap): then gfn by gfn.
  const byGfn = mmu.guest.anyUnmapped();
  let flush = false;
  for (const [index, gfn] of sp.translations!) {
    const range = byGfn ? gfn : Math.floor(gfn / SPTES_PER_PAGE);
    let still = mapped.get(range);
    if (still === undefined) {
      still = guestTableMaps(mmu, sp.gfn, gfn);
      mapped.set(range, still);
    }
    // Deleting the entry just visited is safe while iterating a Map.
    if (fnameSyncSpte(mmu, sp, index, still, vcpu) === 'dropped') flush = true;
  }
  return flush;
}

/** Scratch for guest walks. */
const walkOut = [0, 0, 0, 0];

/**
 * Whether the guest's page at `tableGfn`, read as a level-1 table, maps `gfn`:
 * some live address space translates gfn through it (a page holds one table at a time).
 */
export function guestTableMaps(mmu: ShadowMmu, tableGfn: number, gfn: number): boolean {
  for (const pgd of mmu.guest.byPgd.keys()) if (mmu.guest.walk(pgd, gfn, walkOut) && walkOut[3] === tableGfn) return true;
  return false;
}

/**
 * The pages from `top` down to `sp`'s parent, along the first path found (`sp`
 * lies below `top`: its SPTEs reach it), or null. The kernel keeps
 * unsync_child_bitmap on every page above an unsync one
 * (kvm_mmu_mark_parents_unsync) and walks down from the top; the model walks up
 * the parent_ptes of each unsync page instead, which finds the same pages. A
 * page at `top`'s level or above that is not `top` cannot lead to it.
 */
function pathBelow(mmu: ShadowMmu, sp: ShadowPage, top: ShadowPage): number[] | null {
  for (const ref of sp.parentPtes) {
    const parent = refPage(ref);
    if (parent === top.id) return [top.id];
    const up = mmu.sps[parent]!;
    if (up.level >= top.level) continue;
    const above = pathBelow(mmu, up, top);
    if (above !== null) {
      above.push(parent);
      return above;
    }
  }
  return null;
}

/** @kernel sp->unsync_children as kvm_mmu_sync_roots (of a root) and __kvm_mmu_invalidate_addr's walk test it: some unsync page lies below `root`. */
export function hasUnsyncChildren(mmu: ShadowMmu, root: ShadowPage): boolean {
  for (const sp of mmu.unsyncPages) if (pathBelow(mmu, sp, root) !== null) return true;
  return false;
}

/** KVM_PAGE_ARRAY_NR: entries of the page array one mmu_unsync_walk fills. */
export const KVM_PAGE_ARRAY_NR = 16;

/**
 * @kernel mmu.c mmu_unsync_walk — one batch of the unsync pages below `parent`
 * (a root, for mmu_sync_children; any page above level 1 about to be zapped, for
 * mmu_zap_unsync_children), found afresh from it. The kernel's array holds the
 * pages on the way down too (`parent`, then each page with unsync children), and the walk stops
 * when it is full; the model counts each unsync page with the pages on one
 * path to it that the batch does not hold yet, and stops before one that does
 * not fit (the kernel's walk may stop between a parent and its children: a
 * batch the model makes can be a page larger).
 */
export function mmuUnsyncWalk(mmu: ShadowMmu, parent: ShadowPage): ShadowPage[] {
  const batch: ShadowPage[] = [];
  const held = new Set<number>();
  for (const sp of mmu.unsyncPages) {
    const path = pathBelow(mmu, sp, parent);
    if (path === null) continue;
    const add = path.filter((id) => !held.has(id));
    if (batch.length > 0 && held.size + add.length + 1 > KVM_PAGE_ARRAY_NR) break;
    for (const id of add) held.add(id);
    held.add(sp.id);
    batch.push(sp);
  }
  return batch;
}

/**
 * @kernel mmu.c mmu_sync_children (can_yield, as kvm_mmu_sync_roots calls it) —
 * under the write lock, batch by batch, each found afresh from the root
 * (mmu_unsync_walk): the batch's gfns are write-protected again
 * (kvm_vcpu_write_protect_gfn), with a flush at once if one was writable, so
 * that the guest cannot write a table while it is being read; then each page is
 * marked sync (kvm_unlink_unsync_page) and rebuilt (kvm_sync_page), which may
 * drop SPTEs. After each batch, when mmu_lock is contended (a preemptible
 * kernel's rwlock_needbreak) or the time slice is used up (need_resched), what
 * is pending is flushed (kvm_mmu_remote_flush_or_zap) and the lock dropped and
 * re-taken (cond_resched_rwlock_write); the next walk starts from the root again,
 * since the tree may have changed meanwhile. One flush at the end for what is
 * still pending. (kvm_sync_page fails, and zaps the page, only in cases the
 * model's guest never gives: the invalid list stays empty.)
 *
 * The caller's last step announced the shadow tables and mmu_lock: the first
 * batch's walk, write-protect and sync are in it.
 */
export function* mmuSyncChildren(mmu: ShadowMmu, root: ShadowPage, vcpu: Vcpu): Task {
  const kvm = mmu.kvm;
  const lock = kvm.mmuLock;
  lock.assertWriteHeld('mmu_sync_children');
  const invalidList: ShadowPage[] = [];
  let flush = false;
  for (;;) {
    const batch = mmuUnsyncWalk(mmu, root);
    if (batch.length === 0) break;
    let writeProtected = false;
    for (const sp of batch) if (kvmMmuSlotGfnWriteProtect(mmu, sp.gfn)) writeProtected = true;
    let wpFlush: WriteProtectFlush = 'none needed';
    if (writeProtected) {
      // The mutant leaves the flush for the batch's end: a vCPU may write a table
      // through its TLB after the sync has read it.
      if (kvm.mutation.acts('sync-children-wp-no-flush')) {
        flush = true;
        wpFlush = 'skipped';
      } else {
        wpFlush = 'done';
        yield* kvmMmuRemoteFlushOrZap(mmu, invalidList, true);
        flush = false;
      }
      // Race: guests walking the shadow tables in hardware (their TLBs flushed)
      // while we drop SPTEs; vCPUs and notifiers queueing on mmu_lock (the
      // needbreak test below).
      yield op2(WRITE, mmu.objSpt, lock.obj);
    }
    let readGeneration = false;
    for (const sp of batch) {
      if (kvm.listens('gfnWriteProtected')) kvm.emit({ e: 'gfnWriteProtected', gfn: sp.gfn, by: 'mmu_sync_children', flush: wpFlush });
      kvmUnlinkUnsyncPage(mmu, sp, 'mmu_sync_children', root.id);
      if (syncReadsGeneration(mmu, sp)) {
        // Race: a memslot swap publishing a set, or storing its final generation,
        // against the generation sync_mmio_spte reads under mmu_lock (the swap
        // takes no mmu_lock): read before the store, the update is in progress and
        // the SPTE gets the old generation; after it, the new one.
        yield opPair(WRITE, mmu.objSpt, READ, kvm.objMemslots);
        readGeneration = true;
      }
      if (kvmSyncPage(mmu, sp, vcpu)) flush = true;
    }
    // Race: vCPUs and notifiers queueing on mmu_lock, as the needbreak test below
    // reads it (the step that announced it ended at the generation's read).
    if (readGeneration) yield op2(WRITE, mmu.objSpt, lock.obj);
    if (!((kvm.yieldOnContention && lock.contended()) || lock.shouldResched())) continue;
    // The flush comes before the lock is dropped: an SPTE the sync dropped is
    // gone from the rmap, so a notifier that runs in the break (kvm_unmap_gfn_range)
    // finds nothing to zap and returns without a flush while a TLB still maps the
    // gfn. The mutant keeps the flush for the end.
    if (!((flush || invalidList.length > 0) && kvm.mutation.acts('sync-children-yield-without-flush'))) {
      yield* kvmMmuRemoteFlushOrZap(mmu, invalidList, flush);
      flush = false;
    }
    kvm.emit({ e: 'lockBreak', holder: 'mmu_sync_children' });
    yield* lock.condReschedWrite(kvm.yieldOnContention);
    // Race: guests walking the shadow tables in hardware while we write-protect
    // and drop SPTEs again; vCPUs and notifiers queueing on mmu_lock, and the
    // paths that changed the tree while we did not hold it (the walk starts
    // again from the root).
    yield op2(WRITE, mmu.objSpt, lock.obj);
  }
  yield* kvmMmuRemoteFlushOrZap(mmu, invalidList, flush);
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
  // write-protect the synced tables again; vCPUs and notifiers queueing on
  // mmu_lock (mmu_sync_children's needbreak test).
  yield op2(WRITE, mmu.objSpt, kvm.mmuLock.obj);
  yield* mmuSyncChildren(mmu, mmu.sps[vcpu.root.root]!, vcpu);
  yield* kvm.mmuLock.writeUnlockY();
}
