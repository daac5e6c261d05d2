import { ModelBug } from '../runtime/model-bug.js';
import { op2, opPair, opRead, opShared, opWrite, READ, WRITE } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import { markPageDirtyInSlot } from './dirty-log.js';
import type { DirtyLogWrprotBy, RetPf } from './events.js';
import { type LeafSpte, sameLeaf } from './fast-page-fault.js';
import type { Kvm } from './kvm.js';
import { LeafBits } from './leaf-bits.js';
import type { Memslot } from './memslots.js';
import { makeMmioSpte, mmioSpteGen } from './mmio-spte.js';
import type { MmuBackend, PageFault } from './mmu-backend.js';
import { LeafIter, TablePool } from './page-table.js';
import { eptAccessTracking } from './settings.js';
import type { Vcpu } from './vcpu.js';
import { kvmFlushRemoteTlbs, kvmMakeAllCpusRequest, rootZapRequest } from './vcpu-requests.js';
import { kvmMmuZapAllFast } from './zap-all-fast.js';

/** A TDP MMU root (the kvm_mmu_page at its top). */
export interface TdpRoot {
  /** Root id, printed in logs (stands for the root's hpa). */
  readonly id: number;
  /** Top-level table in the pool. */
  readonly table: number;
  /** tdp_mmu_root_count: one per vCPU using it, plus the TDP MMU's own until zapped. */
  refcount: number;
  /** role.invalid: set by kvm_tdp_mmu_invalidate_all_roots. */
  invalid: boolean;
  /** tdp_mmu_scheduled_root_to_zap. */
  scheduledToZap: boolean;
  /** The TDP MMU still holds its own reference. */
  ownRef: boolean;
  /** Freed: any later use is a use-after-free. */
  freed: boolean;
}

/**
 * The TDP (EPT) MMU: roots shared by vCPUs, faults under mmu_lock for read with
 * cmpxchg installs, leaf zaps that yield, fast zap by invalidating every root.
 * @kernel arch/x86/kvm/mmu/tdp_mmu.c
 */
export class TdpMmu implements MmuBackend {
  readonly faultTakesWriteLock = false;
  readonly faultExit = 'ept-violation' as const;
  readonly mmioExit = 'ept-misconfig' as const;
  readonly writeProtectExit = 'ept-write-protect' as const;
  readonly pool = new TablePool();
  /** kvm->arch.tdp_mmu_roots, every root not yet freed. */
  readonly roots: TdpRoot[] = [];
  /** A request to drop invalid roots is still going round the vCPUs (zapAllFast). */
  private rootDropInFlight = 0;
  /** vCPUs that dropped their root on a root-zap request and have not loaded one since. */
  private readonly droppedByZap = new Set<number>();
  /** Every root ever made, by id (freed ones included, for use-after-free reports). */
  private readonly allRoots: TdpRoot[] = [];

  constructor(private readonly kvm: Kvm) {}

  spteObject(gfn: number): number {
    return this.kvm.objSpte(gfn);
  }

  private rootOf(vcpu: Vcpu): TdpRoot | undefined {
    return vcpu.root.root < 0 ? undefined : this.allRoots[vcpu.root.root];
  }

  /**
   * Leaves dirty logging made read-only (the W bit cleared), by root id: null
   * until a slot's logging is enabled, so that no other world pays for it. Every
   * other leaf is writable (the model's guest memory is, in host and guest).
   */
  private readOnly: LeafBits | null = null;

  /**
   * Leaves whose Accessed bit is set (EPT A/D bits: the A bit), by root id: null
   * unless host reclaim ages pages in this world (trackAccessed), so that no
   * other world's walk pays for it. Set by the guest's walk to the leaf (the
   * TLB fill) and by make_spte; cleared by kvm_age_gfn and with the leaf.
   */
  private accessed: LeafBits | null = null;

  /**
   * Leaves aging marked for access tracking (EPT without A/D bits,
   * eptAdBits=off: mark_spte_for_access_track), by root id: null unless host
   * reclaim ages pages in such a world. Such a leaf keeps its pfn in the pool
   * and stays shadow-present (zaps, write protection and the oracle see it), but
   * its RWX bits are clear: the hardware's walk faults on it (an EPT violation,
   * not present), and its W bit is clear too (readOnly), not being saved.
   * Cleared when fast_page_fault restores the leaf, or a fault or zap replaces it.
   */
  private accessTrack: LeafBits | null = null;

  /** Whether the leaf the last walk found allows writes (set by walk). */
  walkWritable = true;

  walk(vcpu: Vcpu, gfn: number, write = false, hardware = true): number {
    const root = this.rootOf(vcpu);
    if (root === undefined || root.freed) return -1;
    const pfn = this.pool.lookup(root.table, gfn);
    // An access-tracked leaf (no A/D bits) has no RWX bits: not present to the
    // hardware, whose walk exits with an EPT violation that is no write protection.
    if (this.accessTrack !== null && pfn >= 0 && this.accessTrack.has(root.id, gfn)) return -1;
    // The hardware's walk sets the A bit of the present leaf it reaches, before the
    // permission check (a write the leaf refuses used it too); a TLB hit walks
    // nothing, a software read (hardware false) sets nothing.
    if (this.accessed !== null && pfn >= 0 && hardware) this.accessed.add(root.id, gfn);
    if (this.readOnly === null) return pfn;
    this.walkWritable = !(pfn >= 0 && this.isReadOnly(root, gfn));
    return write && !this.walkWritable ? -1 : pfn;
  }

  private isReadOnly(root: TdpRoot, gfn: number): boolean {
    return this.readOnly?.has(root.id, gfn) ?? false;
  }

  /**
   * From now on leaves keep an Accessed bit (a world whose host reclaim ages
   * pages), or, without EPT A/D bits, may be marked for access tracking; whether
   * the hardware's walk writes the leaf (its A bit: not without A/D bits).
   */
  trackAccessed(): boolean {
    if (eptAccessTracking(this.kvm.settings)) {
      this.accessTrack ??= new LeafBits();
      return false;
    }
    this.accessed ??= new LeafBits();
    return true;
  }

  private isAccessTracked(root: TdpRoot, gfn: number): boolean {
    return this.accessTrack?.has(root.id, gfn) ?? false;
  }

  /** The leaf of gfn in root as an SPTE value, or null when none is shadow-present. */
  private leafSpte(root: TdpRoot, gfn: number): LeafSpte | null {
    const pfn = this.pool.lookup(root.table, gfn);
    if (pfn < 0) return null;
    return this.isAccessTracked(root, gfn) ? { pfn, writable: false, accessTracked: true } : { pfn, writable: !this.isReadOnly(root, gfn) };
  }

  /** Clears the W bit of the present leaf of gfn in root; whether it was set. */
  private clearWritable(root: TdpRoot, gfn: number): boolean {
    this.readOnly ??= new LeafBits();
    return this.readOnly.add(root.id, gfn);
  }

  /**
   * @kernel kvm_tdp_mmu_map, tdp_mmu_map_handle_target_level — install the leaf
   * with cmpxchg under the read lock; a fault with no memslot installs an MMIO
   * SPTE (over an older one) and is emulated.
   */
  *map(vcpu: Vcpu, fault: PageFault): Generator<number, RetPf, void> {
    const kvm = this.kvm;
    const root = this.rootOf(vcpu);
    if (root === undefined) throw new ModelBug(`${vcpu.name}: fault with no root`);
    // Race: another vCPU installing the same SPTE, or a zap of invalidated roots
    // (which runs under the read lock too): the install is a cmpxchg. In a logged
    // slot the step also reads the logging flag and sets the gfn's dirty bit
    // (make_spte → mark_page_dirty_in_slot): it races with the enabling ioctl's
    // flag (kvmEnableDirtyLogging) and with fast_page_fault's mark of the same bit
    // from another vCPU (no lock between them), so the bitmap is written too. A
    // fault on a gfn in no memslot stamps its MMIO SPTE with the memslots
    // generation read here (make_mmio_spte): that races with a memslot update's
    // stores of the generation, which take no mmu_lock, so the memslots are read too.
    const log = kvm.dirtyLog;
    yield fault.slot === undefined
      ? opPair(WRITE, this.spteObject(fault.gfn), READ, kvm.objMemslots)
      : log?.covers(fault.slot)
        ? op2(WRITE, this.spteObject(fault.gfn), log.obj)
        : opWrite(this.spteObject(fault.gfn));
    const old = this.pool.lookup(root.table, fault.gfn);
    // A present leaf stays (RET_PF_SPURIOUS): under the kernel's protocol a gfn in
    // no memslot has none, its slot's SPTEs zapped before the slot went. But a
    // write to a leaf dirty logging write-protected makes it writable again, and
    // make_spte marks the gfn dirty (fast_page_fault fixes it first, without
    // mmu_lock; this is for fastPageFault=off, or a leaf it found not present).
    // A leaf marked for access tracking (no A/D bits) is no access the fault may
    // use: make_spte's new leaf replaces it (the fast path restores it first,
    // without mmu_lock; this is for fastPageFault=off, or a leaf it read as not present).
    const tracked = old >= 0 && this.isAccessTracked(root, fault.gfn);
    if (tracked) {
      this.accessTrack!.delete(root.id, fault.gfn);
      this.readOnly?.delete(root.id, fault.gfn);
    }
    if (old >= 0 && !tracked) {
      if (!fault.write || !this.isReadOnly(root, fault.gfn)) return 'spurious';
      markPageDirtyInSlot(kvm, vcpu.id, fault.slot, fault.gfn, true);
      this.readOnly!.delete(root.id, fault.gfn);
      const oldAccessed = this.accessed?.has(root.id, fault.gfn) ?? true;
      // make_spte (this is no prefetch) sets the A bit of the leaf it makes writable.
      this.accessed?.add(root.id, fault.gfn);
      kvm.emit({ e: 'spteSet', root: root.id, gfn: fault.gfn, oldPfn: old, newPfn: fault.pfn, level: 1, writable: true, oldWritable: false, oldAccessed });
      kvm.rt.charge(kvm.costs.spteInstallNs);
      return 'fixed';
    }
    if (fault.slot === undefined) {
      const spte = makeMmioSpte(kvm);
      this.pool.setMmio(root.table, fault.gfn, spte);
      kvm.emit({ e: 'mmioSpteSet', vcpu: vcpu.id, gfn: fault.gfn, gen: mmioSpteGen(spte), inProgress: kvm.memslots.updateInProgress, root: root.id });
      kvm.rt.charge(kvm.costs.spteInstallNs);
      return 'emulate';
    }
    // make_spte: the leaf is writable; in a logged slot its gfn is marked dirty first.
    // An access-tracked leaf is replaced by it (its tracking cleared above).
    markPageDirtyInSlot(kvm, vcpu.id, fault.slot, fault.gfn);
    this.pool.set(root.table, fault.gfn, fault.pfn);
    // make_spte sets the A bit of a leaf a fault (not a prefetch) installs.
    this.accessed?.add(root.id, fault.gfn);
    kvm.emit(
      tracked
        ? { e: 'spteSet', root: root.id, gfn: fault.gfn, oldPfn: old, newPfn: fault.pfn, level: 1, writable: true, oldAccessTracked: true }
        : { e: 'spteSet', root: root.id, gfn: fault.gfn, oldPfn: -1, newPfn: fault.pfn, level: 1 },
    );
    kvm.rt.charge(kvm.costs.spteInstallNs);
    return 'fixed';
  }

  /**
   * @kernel kvm_tdp_mmu_fast_pf_get_last_sptep — the leaf of gfn in the vCPU's
   * root as read without mmu_lock (under RCU: the vCPU's reference keeps the
   * root's tables), or null when none is shadow-present (an MMIO SPTE is not).
   */
  fastPfGetLastSpte(vcpu: Vcpu, gfn: number): LeafSpte | null {
    const root = this.rootOf(vcpu);
    if (root === undefined || root.freed) return null;
    return this.leafSpte(root, gfn);
  }

  /**
   * @kernel fast_pf_fix_direct_spte's try_cmpxchg64 — store `next` as gfn's leaf
   * in the vCPU's root if the leaf still is `old`; whether it was stored.
   * `plain`: a plain store, no compare (the fast-pf-plain-write mutant).
   */
  fastPfCmpxchgSpte(vcpu: Vcpu, gfn: number, old: LeafSpte, next: LeafSpte, plain: boolean): boolean {
    const root = this.rootOf(vcpu);
    if (root === undefined || root.freed) throw new ModelBug(`${vcpu.name}: fast_page_fault with no root`);
    const cur = this.leafSpte(root, gfn);
    const same = cur !== null && sameLeaf(cur, old);
    if (!same && !plain) return false;
    if (!same) this.kvm.mutation.tookEffect();
    this.setLeaf(root, gfn, next);
    return true;
  }

  /** Stores `spte` as gfn's leaf in root: its pfn, W bit and access tracking. */
  private setLeaf(root: TdpRoot, gfn: number, spte: LeafSpte): void {
    this.pool.set(root.table, gfn, spte.pfn);
    if (spte.writable) this.readOnly?.delete(root.id, gfn);
    else this.clearWritable(root, gfn);
    if (spte.accessTracked === true) {
      this.accessTrack ??= new LeafBits();
      this.accessTrack.add(root.id, gfn);
    } else this.accessTrack?.delete(root.id, gfn);
  }

  /**
   * @kernel tdp_mmu.c kvm_tdp_mmu_age_gfn_range — clear the A bit of every young
   * leaf of [start, end); whether one was young. `lockless` (v6.15 on): the valid
   * roots under RCU alone, no mmu_lock, so a zap (the notifier's under the write
   * lock, a root's under the read lock) or a fault's install may change the leaf
   * between the iterator's read and the clear: the clear is an atomic AND
   * (tdp_mmu_clear_spte_bits_atomic), which leaves a zapped leaf zapped. Before:
   * mmu_lock held for write across the walk (every root, invalid ones too), and
   * only the hardware's A/D updates race with the clear, which the atomic
   * tdp_mmu_clear_spte_bits covers too: read and clear are one step there.
   */
  *ageGfnRange(start: number, end: number, lockless: boolean): Generator<number, boolean, void> {
    const kvm = this.kvm;
    if (!lockless) kvm.mmuLock.assertWriteHeld('kvm_tdp_mmu_age_gfn_range');
    // spte_ad_enabled is false for every leaf of a world without EPT A/D bits (eptAdBits=off).
    const noAd = this.accessTrack !== null;
    let young = false;
    for (const root of [...this.roots]) {
      if (root.freed || (lockless && root.invalid)) continue;
      // tdp_root_for_each_leaf_pte: the walk keeps its place (the root's tables go only with it, and a freed root ends the walk).
      const iter = new LeafIter(this.pool, root.table, end, false);
      for (let g = iter.next(start); g >= 0; g = iter.next(g + 1)) {
        // Race (lockless): a zap of this leaf, a fault installing it again, the
        // guest's walk setting its A bit, fast_page_fault restoring an
        // access-tracked leaf, against the iterator's read (iter.old_spte). Under
        // the write lock: the guest's walk and fast_page_fault's cmpxchg alone, and
        // the clear or the mark is in this step.
        yield lockless ? opRead(this.spteObject(g)) : opWrite(this.spteObject(g));
        // RCU keeps a freed root's tables for the walk; nothing in them is used.
        if (root.freed) break;
        const old = this.leafSpte(root, g);
        if (old === null) continue;
        // is_accessed_spte: the A bit, or, without A/D bits, not access-tracked.
        const wasYoung = noAd ? old.accessTracked !== true : (this.accessed?.has(root.id, g) ?? false);
        kvm.emit(
          noAd
            ? { e: 'ageSpteRead', root: root.id, gfn: g, pfn: old.pfn, young: wasYoung, noAd: true }
            : { e: 'ageSpteRead', root: root.id, gfn: g, pfn: old.pfn, young: wasYoung },
        );
        if (!wasYoung) continue;
        young = true;
        if (lockless) {
          // Race: a zap, an install or a restore between the read above and this
          // store: the atomic AND clears the bit of whatever the leaf is now, the
          // mark's cmpxchg fails and leaves it as it is; a plain store of the value
          // read, less A (age-plain-clear) or marked (age-mark-plain-store), brings
          // a zapped leaf back over a pfn the host may free (access-tracked, which
          // fast_page_fault restores at the next access).
          yield opWrite(this.spteObject(g));
          if (root.freed) break;
        }
        this.kvmTdpMmuAgeSpte(root, g, old, lockless, noAd);
      }
    }
    return young;
  }

  /**
   * @kernel tdp_mmu.c kvm_tdp_mmu_age_spte — with A/D bits the A bit cleared
   * (clearAccessed); without them (spte_ad_enabled false: eptAdBits=off) a leaf
   * is young when it is not access-tracked (is_accessed_spte), and aging marks it
   * (mark_spte_for_access_track: RWX cleared, R and X saved, the pfn kept), so
   * that the guest's next access to it faults. `lockless` (v6.15 on): the store
   * is __tdp_mmu_set_spte_atomic, a cmpxchg against the value the iterator read,
   * not retried when it fails (the leaf changed: a zap, a restore, an install;
   * it is left as it is, counted young). Before, under mmu_lock for write,
   * kvm_tdp_mmu_write_spte stores it in the step of the read (an xchg where the
   * fast path could change the leaf, a plain write elsewhere: nothing else
   * writes the leaf then). No TLB flush either way (KVM_ELIDE_TLB_FLUSH_IF_YOUNG):
   * a vCPU's TLB entry keeps serving the page, which does not fault until the
   * entry goes.
   */
  private kvmTdpMmuAgeSpte(root: TdpRoot, gfn: number, old: LeafSpte, lockless: boolean, noAd: boolean): void {
    if (noAd) this.markSpteForAccessTrack(root, gfn, old, lockless);
    else this.clearAccessed(root, gfn, old, lockless && this.kvm.mutation.has('age-plain-clear'));
  }

  /** The mark's store of gfn's leaf in root, read as `old`: a cmpxchg when lockless, else under mmu_lock. */
  private markSpteForAccessTrack(root: TdpRoot, gfn: number, old: LeafSpte, lockless: boolean): void {
    const kvm = this.kvm;
    const cur = this.leafSpte(root, gfn);
    const same = cur !== null && sameLeaf(cur, old);
    const plain = lockless && kvm.mutation.has('age-mark-plain-store');
    if (plain && !same) kvm.mutation.tookEffect();
    const ok = same || plain;
    if (ok) this.setLeaf(root, gfn, { pfn: old.pfn, writable: false, accessTracked: true });
    kvm.emit({
      e: 'ageSpteMark',
      root: root.id,
      gfn,
      pfn: old.pfn,
      writable: old.writable,
      curPfn: cur?.pfn ?? -1,
      curWritable: cur?.writable ?? false,
      curTracked: cur?.accessTracked === true,
      ok,
      plain: plain && !same,
      lockless,
    });
    // An atomic read-modify-write of one SPTE, as a zap's store.
    kvm.rt.charge(kvm.costs.zapSpteNs);
  }

  /**
   * tdp_mmu_clear_spte_bits(_atomic) of the A bit of gfn's leaf in root: the
   * leaf as it is now keeps all else. `plain`: the value read (`old`) less the
   * bit stored whatever the leaf is now (the age-plain-clear mutant).
   */
  private clearAccessed(root: TdpRoot, gfn: number, old: LeafSpte, plain: boolean): void {
    const kvm = this.kvm;
    const cur = this.pool.lookup(root.table, gfn);
    const curWritable = !this.isReadOnly(root, gfn);
    const same = cur === old.pfn && curWritable === old.writable;
    if (plain && !same) {
      kvm.mutation.tookEffect();
      this.pool.set(root.table, gfn, old.pfn);
      if (old.writable) this.readOnly?.delete(root.id, gfn);
      else this.clearWritable(root, gfn);
    }
    this.accessed?.delete(root.id, gfn);
    const stored = plain && !same;
    kvm.emit({ e: 'ageSpte', root: root.id, gfn, pfn: old.pfn, curPfn: cur, plain: stored, writable: stored ? old.writable : curWritable, curWritable });
    // An atomic read-modify-write of one SPTE, as a zap's store.
    kvm.rt.charge(kvm.costs.zapSpteNs);
  }

  /** @kernel kvm_tdp_mmu_unmap_gfn_range — zap leafs in every root, invalid ones included (MMIO SPTEs stay: not shadow-present). */
  *unmapGfnRange(start: number, end: number, canYield: boolean): Generator<number, boolean, void> {
    let flush = false;
    for (const root of [...this.roots]) {
      if (root.freed) continue;
      flush = yield* this.zapLeafs(root, start, end, canYield, true, flush);
    }
    return flush;
  }

  /**
   * @kernel tdp_mmu_zap_leafs — with the yield of tdp_mmu_iter_cond_resched: when
   * mmu_lock is contended (preemptible kernel) or the slice is used up, flush what
   * was zapped so far, then drop and re-take the lock. Returns whether a flush is
   * still pending (zaps in invalid roots need none: no vCPU can enter on them).
   * `mmio`: MMIO SPTEs go too (a root's zap, which takes the tables above them).
   */
  private *zapLeafs(
    root: TdpRoot,
    start: number,
    end: number,
    canYield: boolean,
    writeLocked: boolean,
    flushPending: boolean,
    mmio = false,
  ): Generator<number, boolean, void> {
    const kvm = this.kvm;
    const lock = kvm.mmuLock;
    let pending = flushPending;
    let g = start;
    // A lock break with no zap since: the re-taken lock's section ends with nothing
    // else to show for it, so the step log gets a line saying the walk went on.
    let resumed = false;
    const iter = new LeafIter(this.pool, root.table, end, mmio);
    for (;;) {
      g = iter.next(g);
      if (g < 0) break;
      // Race: a guest's hardware walk of this SPTE (no lock), and vCPUs queueing on
      // mmu_lock (read by the needbreak test below).
      yield op2(WRITE, this.spteObject(g), lock.obj);
      if (root.freed) break;
      // The leaf as it is, for the zap's trace: dirty logging may have cleared its W bit, aging its A bit or its RWX.
      const oldWritable = this.readOnly?.delete(root.id, g) !== true;
      const oldAccessed = this.accessed?.delete(root.id, g) ?? true;
      const oldAccessTracked = this.accessTrack?.delete(root.id, g) ?? false;
      const old = this.pool.set(root.table, g, -1);
      if (old >= 0) {
        resumed = false;
        if (!root.invalid) pending = true;
        kvm.emit({ e: 'spteSet', root: root.id, gfn: g, oldPfn: old, newPfn: -1, level: 1, oldWritable, oldAccessed, oldAccessTracked });
        kvm.rt.charge(kvm.costs.zapSpteNs);
      }
      g++;
      if (canYield && ((kvm.yieldOnContention && lock.contended()) || lock.shouldResched())) {
        // Flush before yielding: once the lock is dropped, another path may see the
        // zapped SPTE and conclude no flush is needed while a TLB still maps it.
        if (pending && !kvm.mutation.acts('invalidate-skip-tlb-flush')) {
          yield* kvmFlushRemoteTlbs(kvm, 'tdp_mmu_iter_cond_resched');
          pending = false;
        }
        kvm.emit({ e: 'lockBreak', holder: 'tdp_mmu_zap_leafs' });
        if (writeLocked) yield* lock.condReschedWrite(kvm.yieldOnContention);
        else yield* lock.condReschedRead(kvm.yieldOnContention);
        iter.restart();
        resumed = true;
      }
    }
    if (resumed && kvm.listens('zapResumed')) {
      kvm.emit({ e: 'zapResumed', holder: 'tdp_mmu_zap_leafs', root: root.id, start: g < 0 ? start : g, end, flushPending: pending });
    }
    return pending;
  }

  /** kvm_mmu_reload → kvm_mmu_load → kvm_tdp_mmu_alloc_root, then flush the new root's TLB. */
  *reloadRoot(vcpu: Vcpu): Task {
    if (vcpu.root.root >= 0) return;
    const kvm = this.kvm;
    yield* kvm.mmuLock.readLock();
    // Race: a fast zap invalidating roots (it holds the write lock, so not now) and
    // another vCPU allocating the same root (tdp_mmu_pages_lock, folded into `roots`).
    // Two vCPUs getting the valid root commute: whichever comes first allocates it,
    // with the same id and table either way, and each ends up holding a reference;
    // so SHARED, which still conflicts with whoever invalidates or frees roots.
    yield opShared(kvm.objRoots);
    let root = this.roots.find((r) => !r.invalid && !r.freed);
    if (root === undefined) {
      root = { id: this.allRoots.length, table: this.pool.alloc(), refcount: 1, invalid: false, scheduledToZap: false, ownRef: true, freed: false };
      this.roots.push(root);
      this.allRoots.push(root);
    }
    root.refcount++;
    vcpu.root.root = root.id;
    const afterZap = this.droppedByZap.delete(vcpu.id);
    kvm.emit({ e: 'rootAlloc', vcpu: vcpu.id, root: root.id, afterZap });
    kvm.rt.charge(kvm.costs.rootLoadNs);
    yield* kvm.mmuLock.readUnlockY();
    vcpu.flushTlb();
  }

  currentRootObsolete(vcpu: Vcpu): boolean {
    const root = this.rootOf(vcpu);
    return root === undefined || root.invalid;
  }

  /** @kernel kvm_mmu_free_obsolete_roots — for TDP, the current root if invalid. */
  *freeObsoleteRoots(vcpu: Vcpu): Task {
    // Race: kvm_tdp_mmu_invalidate_all_roots marking roots invalid, which is
    // read here without mmu_lock: the root is dropped now or at the next request.
    yield opRead(this.kvm.objRoots);
    const root = this.rootOf(vcpu);
    if (root === undefined || !root.invalid) return;
    yield* this.unloadRoots(vcpu);
  }

  /** @kernel kvm_mmu_unload / kvm_mmu_free_roots — drop the vCPU's reference. */
  *unloadRoots(vcpu: Vcpu): Task {
    const root = this.rootOf(vcpu);
    if (root === undefined) return;
    const kvm = this.kvm;
    yield* kvm.mmuLock.readLock();
    // Race: the fast zap's put of the TDP MMU's own reference (under the read lock
    // too): whichever put is last frees the root.
    yield opWrite(kvm.objRoots);
    vcpu.root.root = -1;
    // Both callers service a root-zap request: the root the vCPU loads next is a reload after it.
    this.droppedByZap.add(vcpu.id);
    this.putRoot(root, vcpu.id);
    yield* kvm.mmuLock.readUnlockY();
  }

  /** @kernel kvm_tdp_mmu_put_root — the last reference frees the root. */
  private putRoot(root: TdpRoot, vcpu: number): void {
    root.refcount--;
    this.kvm.emit({ e: 'rootPut', vcpu, root: root.id, count: root.refcount });
    if (root.refcount > 0) return;
    if (!root.invalid) throw new ModelBug(`root ${root.id} freed while valid`);
    root.freed = true;
    this.readOnly?.dropRoot(root.id);
    this.accessed?.dropRoot(root.id);
    this.accessTrack?.dropRoot(root.id);
    this.roots.splice(this.roots.indexOf(root), 1);
    this.pool.freeTree(root.table);
    this.kvm.emit({ e: 'rootFree', root: root.id });
  }

  /** For TDP the memslot flush is always the fast zap (kvm_arch_flush_shadow_memslot). */
  *flushShadowMemslot(_slot: Memslot): Task {
    yield* kvmMmuZapAllFast(this.kvm);
  }

  /**
   * kvm_mmu_zap_all_fast under the write lock: kvm_tdp_mmu_invalidate_all_roots
   * (the model ties it to the generation toggle, so the no-bump mutant skips it),
   * then the request, in the same write-locked section so that no vCPU takes a
   * reference to a root after seeing the request.
   */
  *zapAllFastLocked(genBumped: boolean): Task {
    const kvm = this.kvm;
    if (genBumped) {
      for (const root of this.roots) {
        if (root.invalid) continue;
        root.invalid = true;
        root.scheduledToZap = true;
        // In use: a reference besides the TDP MMU's own, a vCPU's (current root).
        kvm.emit({ e: 'rootInvalidate', root: root.id, inUse: root.refcount > (root.ownRef ? 1 : 0) });
      }
    }
    this.rootDropInFlight++;
    yield* kvmMakeAllCpusRequest(kvm, rootZapRequest(kvm));
    this.rootDropInFlight--;
  }

  /** kvm_mmu_zap_all_fast after the write lock: the invalidated roots are zapped before it returns. */
  *zapAllFastUnlocked(): Task {
    yield* this.zapInvalidatedRoots();
  }

  /** @kernel kvm_tdp_mmu_zap_invalidated_roots — zap, then drop the TDP MMU's reference. */
  private *zapInvalidatedRoots(): Task {
    const kvm = this.kvm;
    yield* kvm.mmuLock.readLock();
    for (const root of [...this.roots]) {
      if (!root.scheduledToZap) continue;
      root.scheduledToZap = false;
      // tdp_mmu_zap_root: the tables go, and the MMIO SPTEs in them.
      yield* this.zapLeafs(root, 0, Number.MAX_SAFE_INTEGER, true, false, false, true);
      // Zap before putting the reference: once the last vCPU lets go the root is
      // freed, and notifiers must not find SPTEs that nobody zapped. Race: a vCPU
      // putting its own reference (KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, under the read
      // lock too): whichever put is last frees the root.
      yield opWrite(kvm.objRoots);
      root.ownRef = false;
      this.putRoot(root, -1);
    }
    yield* kvm.mmuLock.readUnlockY();
  }

  /**
   * @kernel kvm_tdp_mmu_wrprot_slot — under the read lock, the W bit of each
   * present leaf of the slot in every valid root cleared with cmpxchg (an invalid
   * root runs no vCPU: the fast zap that made it so kicked them out under
   * slots_lock, which the caller holds). No lock break (tdp_mmu_iter_cond_resched).
   */
  *slotRemoveWriteAccess(slot: Memslot): Generator<number, number, void> {
    const kvm = this.kvm;
    yield* kvm.mmuLock.readLock();
    // Race: a vCPU allocating a root under the read lock too (kvm_tdp_mmu_get_vcpu_root_hpa):
    // the roots walked are those of this step. (Once taken with the lock, none of them
    // goes invalid or is freed until it is dropped: invalidation takes the write lock.)
    yield opRead(kvm.objRoots);
    const roots = this.roots.filter((r) => !r.invalid && !r.freed);
    let n = 0;
    for (const root of roots) {
      // Every gfn of the slot in a step of its own, its leaf looked at in that step:
      // which leaves are present is what faults installing SPTEs under the read lock
      // change (a leaf installed before this step is write-protected, one after it
      // was marked dirty as it was made), so it is not read ahead (nextPresent).
      for (let g = slot.baseGfn; g < slot.baseGfn + slot.npages; g++) {
        // Race: a guest's hardware walk of this SPTE, and faults installing SPTEs
        // with cmpxchg under the read lock too (a new one marks its gfn dirty).
        yield opWrite(this.spteObject(g));
        if (this.pool.lookup(root.table, g) < 0) continue;
        kvm.rt.charge(kvm.costs.dirtyLogWrprotNs);
        if (!this.clearWritable(root, g)) continue;
        n++;
        const accessed = this.accessed?.has(root.id, g) ?? true;
        kvm.emit({ e: 'dirtyLogWrprot', gfn: g, by: 'kvm_mmu_slot_apply_flags', wasWritable: true, pfn: this.pool.lookup(root.table, g), accessed });
      }
    }
    yield* kvm.mmuLock.readUnlockY();
    return n;
  }

  /**
   * @kernel kvm_tdp_mmu_clear_dirty_pt_masked with wrprot — the W bit of gfn's
   * leaf in every valid root; the change is an SPTE change the TDP MMU traces,
   * so the event names the leaf's pfn.
   */
  writeProtectGfn(gfn: number, by: DirtyLogWrprotBy): boolean {
    this.kvm.mmuLock.assertWriteHeld('kvm_tdp_mmu_clear_dirty_pt_masked');
    let pfn = -1;
    let accessed = true;
    for (const root of this.roots) {
      if (root.invalid || root.freed || this.pool.lookup(root.table, gfn) < 0) continue;
      if (!this.clearWritable(root, gfn)) continue;
      pfn = this.pool.lookup(root.table, gfn);
      accessed = this.accessed?.has(root.id, gfn) ?? true;
    }
    this.kvm.emit(pfn >= 0 ? { e: 'dirtyLogWrprot', gfn, by, wasWritable: true, pfn, accessed } : { e: 'dirtyLogWrprot', gfn, by, wasWritable: false });
    return pfn >= 0;
  }

  rootId(vcpu: Vcpu): number {
    return vcpu.root.root;
  }

  rootProblem(vcpu: Vcpu): string | null {
    const root = this.rootOf(vcpu);
    if (root === undefined) return 'no root loaded';
    if (root.freed) return `root ${root.id} was freed`;
    // Invalidated a moment ago and the request has not reached this vCPU yet: its IPI
    // kicks the vCPU out before the zap goes on (KVM_REQUEST_WAIT).
    if (root.invalid && this.rootDropInFlight > 0 && (vcpu.requests & (1 << rootZapRequest(this.kvm))) === 0) return null;
    if (root.invalid) return `root ${root.id} is invalid (obsolete)`;
    return null;
  }

  findMapping(start: number, end: number): { root: number; gfn: number; pfn: number; accessTracked?: true } | null {
    for (const root of this.roots) {
      const gfn = this.pool.nextPresent(root.table, start, end);
      if (gfn < 0) continue;
      const pfn = this.pool.lookup(root.table, gfn);
      // Shadow-present though not present to the hardware: fast_page_fault would restore it.
      return this.isAccessTracked(root, gfn) ? { root: root.id, gfn, pfn, accessTracked: true } : { root: root.id, gfn, pfn };
    }
    return null;
  }

  checkAccounting(): string[] {
    const out: string[] = [];
    for (const root of this.roots) {
      let users = 0;
      for (const v of this.kvm.vcpus) if (v.root.root === root.id) users++;
      const expect = users + (root.ownRef ? 1 : 0);
      if (root.refcount !== expect)
        out.push(
          `root ${root.id}: tdp_mmu_root_count ${root.refcount}, but ${users} vCPU(s) use it${root.ownRef ? ' plus the TDP MMU reference' : ''} (${expect})`,
        );
    }
    // A root freed under a vCPU's feet: its references were miscounted, and the list above no longer holds it.
    for (const v of this.kvm.vcpus) {
      if (this.rootOf(v)?.freed) out.push(`vCPU${v.id} still uses root ${v.root.root}, which was freed`);
    }
    return out;
  }

  dispose(): void {
    this.pool.dispose();
  }

  gauges(): { shadowPages: number; roots: number } {
    return { shadowPages: this.pool.live, roots: this.roots.length };
  }
}
