import { assertNever, ModelBug, modelAssert } from '../runtime/model-bug.js';
import { type Op, opPair, opRead, opWrite, READ, WRITE } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import { InputError } from '../scenario/input-error.js';
import { markPageDirtyInSlot } from './dirty-log.js';
import { cr3Text, type DirtyLogWrprotBy, type RetPf } from './events.js';
import { GuestCpu, type GuestCpuSpec, type GuestExitKind, GuestKernel, PageTableAllocator, USER_TOP } from './guest-paging.js';
import { SharedProcesses } from './guest-shared.js';
import type { Kvm } from './kvm.js';
import { SlotArch, slotArchKey } from './lpage-info.js';
import { KVM_MEMSLOT_INVALID, type Memslot, type Memslots } from './memslots.js';
import { isMmioSpte, makeMmioSpte, mmioSpteGen } from './mmio-spte.js';
import type { MmuBackend, PageFault } from './mmu-backend.js';
import { KVM_REQ_MMU_SYNC, KVM_REQ_TLB_FLUSH_CURRENT } from './requests.js';
import { Rmap } from './rmap.js';
import { accountShadowed, checkShadowAccounting, kvmMmuSlotGfnWriteProtect, recountDueFor } from './shadow-accounting.js';
import { kvmAgeRmap } from './shadow-age.js';
import { kvmMmuInvlpg } from './shadow-invlpg.js';
import { ActiveMmuPages, MmuPageHash } from './shadow-lists.js';
import {
  isObsoleteSp,
  leafPfn,
  leafWritable,
  makeLeaf,
  ROOT_LEVEL,
  refIndex,
  refPage,
  roleMatches,
  ShadowPage,
  SPTES_PER_PAGE,
  spteIndex,
  spteRef,
} from './shadow-page.js';
import { makeMmuPagesAvailable } from './shadow-reclaim.js';
import { isObsoleteRoot, kvmMmuFreeObsoleteRoots, kvmMmuLoad, kvmMmuNewPgd, kvmMmuUnload } from './shadow-roots.js';
import { syncReadsGeneration } from './shadow-sync-mmio.js';
import { kvmMmuSyncRoots, kvmSyncPage, mmuTryToUnsyncPages } from './shadow-unsync.js';
import { kvmMmuTrackWrite, shadowPageTableClearFlood } from './shadow-write-track.js';
import { kvmMmuCommitZapPage, kvmMmuPrepareZapPage, linkShadowPage, mmuPageZapPte } from './shadow-zap.js';
import type { Vcpu } from './vcpu.js';
import { kvmFlushRemoteTlbs, kvmMakeRequest, rootZapRequest } from './vcpu-requests.js';
import { kvmMmuZapAllLockbreak, shadowZapAllFastLocked } from './zap-all.js';
import { kvmMmuZapAllFast } from './zap-all-fast.js';
import { kvmMmuZapMemslot } from './zap-slot.js';

const hex = (n: number) => `0x${n.toString(16)}`;

/** #PF error code bits (PFERR_*_MASK) of a guest walk that finds a PTE not present. */
const PFERR_WRITE_MASK = 0x2;
const PFERR_USER_MASK = 0x4;

/**
 * The shadow MMU (EPT/NPT off): KVM shadows the guest's own 4-level page tables.
 * Every guest table in use has a shadow page (found by gfn and role in
 * mmu_page_hash, listed newest-first on active_mmu_pages) and is write-protected
 * so that a guest write to it traps (emulated above level 1; a level-1 table's
 * page goes unsync instead, shadow-unsync.ts); faults take mmu_lock for write; each vCPU
 * has a root per CR3 plus three cached previous roots.
 * @kernel arch/x86/kvm/mmu/mmu.c, paging_tmpl.h
 */
export class ShadowMmu implements MmuBackend {
  readonly faultTakesWriteLock = true;
  readonly faultExit = 'pf-intercept' as const;
  readonly mmioExit = 'pf-rsvd' as const;
  readonly writeProtectExit = 'write-protect' as const;
  /** Every shadow page ever made, by id (freed ones stay, for use-after-free reports). */
  readonly sps: ShadowPage[] = [];
  /** kvm->arch.active_mmu_pages. */
  readonly active = new ActiveMmuPages();
  /** kvm->arch.mmu_page_hash. */
  readonly hash = new MmuPageHash();
  /** The memslots' rmaps of 4 KiB leaves. */
  readonly rmap = new Rmap();
  /** kvm->arch.n_used_mmu_pages: pages allocated and not yet zapped for good. */
  nUsedMmuPages = 0;
  /** kvm->arch.indirect_shadow_pages: valid pages that shadow a guest table. */
  indirectShadowPages = 0;
  /** Pages not yet freed. */
  liveCount = 0;
  /** Requests to drop obsolete roots still going round the vCPUs (see requestRootDrop). */
  rootDropInFlight = 0;
  /** Unsync pages (level 1, their gfn mapped writable), in the order they went unsync. */
  readonly unsyncPages = new Set<ShadowPage>();
  /** Pages with root_count > 0 (some vCPU's current or previous root). */
  readonly rootSps = new Set<ShadowPage>();
  /** The guest's processes and page tables (guest memory, as KVM's walks read it). */
  readonly guest = new GuestKernel();
  /** Object id of the shadow page tables, which guests walk in hardware without a lock. */
  readonly objSpt: number;
  /** Per-memslot arch data by slotArchKey; entries stay after their slot goes, as dangling references would. */
  private readonly arch = new Map<number, SlotArch>();
  /** Accounting checks since the last full recount, and the memslots it saw. */
  private checkCalls = 0;
  private lastMemslots: Memslots | null = null;
  private lastSlotKeys = '';
  /** Scratch for guest walks (levels 4..1) under mmu_lock (map: read again after its yields). */
  private readonly walkOut = [0, 0, 0, 0];
  /** Scratch for the lockless guest walk (guestWalk), used within one step: not walkOut, which a fault holding mmu_lock reads across yields. */
  private readonly guestWalkOut = [0, 0, 0, 0];

  constructor(readonly kvm: Kvm) {
    this.objSpt = kvm.rt.objects.id('shadow page tables');
  }

  /** The guest's one run list when its vCPUs run threads of the same processes (workload.sharedProcesses), else null. */
  sharedProcesses: SharedProcesses | null = null;

  /** Gives each vCPU its guest-kernel state and loads its first process's CR3. */
  setupGuest(specs: readonly GuestCpuSpec[]): void {
    const s0 = specs[0];
    if (s0?.sharedProcesses) {
      // One allocator for the guest: vCPU0's region (the scenario's workload sizes it).
      const alloc = new PageTableAllocator(s0.pageTableGfnStart, s0.pageTableGfns, 'the guest page tables', s0.pageTableGfnsField);
      const obj = this.kvm.rt.objects.id('guest processes');
      this.sharedProcesses = new SharedProcesses(this.guest, Math.max(1, s0.processes), alloc, specs.length, obj);
    }
    this.kvm.vcpus.forEach((v, i) => {
      const g = new GuestCpu(this.guest, specs[i]!, v.name, this.sharedProcesses);
      g.note = (text) => {
        if (this.kvm.listens('note')) this.kvm.emit({ e: 'note', text });
      };
      v.guest = g;
      v.cr3 = g.current.pgd;
    });
  }

  guestCpu(vcpu: Vcpu): GuestCpu {
    const g = vcpu.guest;
    if (!(g instanceof GuestCpu)) throw new ModelBug(`${vcpu.name} has no guest paging state`);
    return g;
  }

  // ---- memslot arch data ----

  /** The memslot's arch data, made on first use with its head/tail lpage counts. */
  slotArch(slot: Memslot): SlotArch {
    const key = slotArchKey(slot);
    let a = this.arch.get(key);
    if (a === undefined) {
      a = new SlotArch(slot);
      this.arch.set(key, a);
    }
    return a;
  }
  slotArchByKey(key: number): SlotArch | undefined {
    return this.arch.get(key);
  }
  isLiveSlotKey(key: number): boolean {
    return this.kvm.memslots.slots.some((s) => slotArchKey(s) === key);
  }

  /** @kernel kvm_gfn_is_write_tracked — some shadow page write-protects gfn (in `slot`, the fault's when it has one). */
  isWriteTracked(gfn: number, slot = this.kvm.memslots.gfnToMemslot(gfn)): boolean {
    if (slot === undefined) return false;
    return this.arch.get(slotArchKey(slot))?.isWriteTracked(gfn) ?? false;
  }

  // ---- shadow pages ----

  /**
   * @kernel kvm_mmu_get_shadow_page — a valid page shadowing gfn at `level`, or a
   * new one: stamped with the current generation, at the head of
   * active_mmu_pages, in the hash, and accounted against its gfn's memslot.
   */
  *getShadowPage(gfn: number, level: number, vcpu: Vcpu): Generator<Op, ShadowPage, void> {
    const kvm = this.kvm;
    kvm.mmuLock.assertWriteHeld('kvm_mmu_get_shadow_page');
    const found = yield* this.findShadowPage(gfn, level, vcpu);
    if (found !== null) return found;
    const sp = new ShadowPage(this.sps.length, gfn, level, false, kvm.mmuValidGen);
    this.sps.push(sp);
    this.active.add(sp);
    this.hash.add(sp);
    this.nUsedMmuPages++;
    this.liveCount++;
    kvm.emit({ e: 'spCreate', sp: sp.id, gfn, level, direct: false, gen: sp.mmuValidGen });
    kvm.rt.charge(kvm.costs.shadowPageCreateNs);
    yield* accountShadowed(this, sp);
    return sp;
  }

  /**
   * @kernel kvm_mmu_find_shadow_page — the valid page of that gfn and level. An
   * unsync one is synced first (kvm_sync_page), and stays unsync: its gfn is
   * write-protected again only at the next CR3 load's sync. Looking for a table
   * above level 1 zaps an unsync page of the gfn: the guest has stopped using the
   * page as a level-1 table, and the new page will write-protect the gfn.
   */
  private *findShadowPage(gfn: number, level: number, vcpu: Vcpu): Generator<Op, ShadowPage | null, void> {
    const kvm = this.kvm;
    const invalidList: ShadowPage[] = [];
    let found: ShadowPage | null = null;
    for (const sp of this.hash.bucket(gfn)) {
      if (sp.gfn !== gfn || isObsoleteSp(kvm, sp)) continue;
      if (!roleMatches(sp, level, false)) {
        if (level > 1 && sp.unsync) yield* kvmMmuPrepareZapPage(this, sp, invalidList);
        continue;
      }
      const synced = sp.unsync;
      // Race: a memslot swap storing its final generation against the one
      // sync_mmio_spte reads under mmu_lock (the swap takes no mmu_lock).
      if (synced && syncReadsGeneration(this, sp)) yield opPair(WRITE, this.objSpt, READ, kvm.objMemslots);
      if (synced && kvmSyncPage(this, sp, vcpu)) yield* kvmFlushRemoteTlbs(kvm, 'kvm_sync_page');
      // Traced after the lookup's sync, as __kvm_mmu_get_shadow_page traces a page it found.
      if (kvm.listens('spFound')) kvm.emit({ e: 'spFound', sp: sp.id, gfn, level, gen: sp.mmuValidGen, unsync: sp.unsync, synced });
      found = sp;
      break;
    }
    yield* kvmMmuCommitZapPage(this, invalidList);
    return found;
  }

  // ---- MmuBackend ----

  spteObject(_gfn: number): number {
    return this.objSpt;
  }

  /** Whether the leaf the last walk found allows writes (set by walk). */
  walkWritable = false;

  /**
   * Leaf SPTEs (spteRef) whose Accessed bit is set: null unless reclaim ages
   * pages in this world (trackAccessed), so that no other world's walk pays.
   * Set by the guest's walk to the leaf and by make_spte, cleared by
   * kvm_age_rmap. A dropped leaf's ref may stay: no one reads it (the rmaps
   * hold present leaves only, and an install at that ref sets the bit anyway).
   */
  accessed: Set<number> | null = null;

  /** Shadow paging always has A/D bits: the walk sets the A bit. */
  trackAccessed(): boolean {
    this.accessed ??= new Set();
    return true;
  }

  ageGfnRange(start: number, end: number, lockless: boolean): Generator<Op, boolean, void> {
    return kvmAgeRmap(this, start, end, lockless);
  }

  /** The hardware walk of the shadow tables from the vCPU's current root; a write needs a writable leaf. */
  walk(vcpu: Vcpu, gfn: number, write = false, hardware = true): number {
    const r = vcpu.root.root;
    if (r < 0) return -1;
    let sp = this.sps[r]!;
    if (sp.freed) return -1;
    for (let level = ROOT_LEVEL; level > 1; level--) {
      const e = sp.sptes.get(spteIndex(gfn, level));
      if (e === undefined) return -1;
      sp = this.sps[e]!;
    }
    const leaf = sp.sptes.get(gfn % SPTES_PER_PAGE);
    if (leaf === undefined) return -1;
    // An MMIO SPTE (mmio-spte.ts's encoding, kept as it is): reserved bits set, an exit.
    if (isMmioSpte(leaf)) return leaf;
    // The hardware's walk sets the A bit of the present leaf it reaches, before the
    // permission check, as the TDP walk does (a write the leaf refuses used it too);
    // a TLB hit walks nothing, a software read (hardware false) sets nothing.
    if (this.accessed !== null && hardware) this.accessed.add(spteRef(sp.id, gfn % SPTES_PER_PAGE));
    this.walkWritable = leafWritable(leaf);
    if (write && !this.walkWritable) return -1;
    return leafPfn(leaf);
  }

  /**
   * The guest's own page table at `gfn` is read through a memslot (FNAME(walk_addr)
   * for a fault, mmu_alloc_shadow_roots for CR3). In a memslot being deleted or
   * moved, or in none, the walk fails: the kernel injects a page fault the guest
   * cannot fix for its own tables, or runs it on a dummy root, and the guest
   * crashes. That is the scenario's doing (a VMM taking memory its guest still
   * uses), not the protocol's: bad input, said as such.
   */
  assertGuestTableVisible(vcpu: Vcpu, gfn: number): void {
    const slot = this.kvm.memslots.gfnToMemslot(gfn);
    if (slot !== undefined && (slot.flags & KVM_MEMSLOT_INVALID) === 0) return;
    const where = slot === undefined ? 'in no memslot' : `in memslot ${slot.id}, which is being deleted or moved`;
    throw new InputError(
      `host.memslotChanges: ${vcpu.name}'s page table at gfn ${hex(gfn)} is ${where} while ${vcpu.name} runs, so the guest would crash on its own page tables; ` +
        `expected the memslots holding page tables (vcpuWorkloads[${vcpu.id}].pageTableGfnStart) left in place, or ${vcpu.name} done before (vcpuWorkloads[${vcpu.id}].accesses)`,
    );
  }

  /**
   * @kernel paging_tmpl.h FNAME(walk_addr) as FNAME(page_fault) calls it, first
   * thing, without mmu_lock: the walk of the guest's tables for the faulting
   * address (gva = gfn in this model). A PTE not present (the process unmapped
   * the page) is the guest's own fault: kvm_inject_emulated_page_fault, and
   * RET_PF_RETRY, before the memslot lookup, page tracking and kvm_faultin_pfn;
   * the guest's handler maps the page again and the access is retried.
   */
  *guestWalk(vcpu: Vcpu, fault: PageFault): Generator<Op, 'inject-pf' | null, void> {
    const kvm = this.kvm;
    const shared = this.sharedProcesses;
    // Race: a memslot update swapping the memslots the guest's tables are read
    // through (a table in a slot being deleted is bad input, said as such below);
    // with shared processes, another vCPU's guest kernel clearing this PTE (munmap)
    // or setting it again (its #PF handler) while we read it: guestTick's step for
    // that announces the shared process state, written. Unshared, only this vCPU's
    // guest kernel changes its tables, in its own steps, before this fault.
    yield shared === null ? opRead(kvm.objMemslots) : opPair(READ, shared.obj, READ, kvm.objMemslots);
    const gva = fault.gfn;
    const tables = this.guestWalkOut;
    const present = this.guest.walk(vcpu.cr3, gva, tables);
    if (!present) modelAssert(this.guest.isUnmapped(vcpu.cr3, gva), `${vcpu.name}: no guest translation of ${hex(gva)} under CR3 ${cr3Text(vcpu.cr3)}`);
    // The walk read every level (a cleared leaf PTE is in a table it reached).
    for (let i = 0; i < ROOT_LEVEL; i++) this.assertGuestTableVisible(vcpu, tables[i]!);
    if (present) return null;
    // The fault's own work (the exit's decode, the walk) without the memslot lookup, GUP or mmu_lock.
    kvm.rt.charge(kvm.costs.faultNs);
    this.guestCpu(vcpu).injectPageFault(gva);
    // The walker's error code for a PTE not present: the access's W and U bits (the page is a user one).
    vcpu.queuedPfErrorCode = (fault.write ? PFERR_WRITE_MASK : 0) + (gva < USER_TOP ? PFERR_USER_MASK : 0);
    return 'inject-pf';
  }

  /**
   * @kernel page_fault_handle_page_track, then the emulated write's
   * kvm_mmu_track_write — tested without mmu_lock, after the guest walk and
   * before kvm_faultin_pfn, so such a write is emulated whatever invalidation
   * is in progress (it needs no pfn, and so no retry).
   */
  *pageTrackWrite(vcpu: Vcpu, fault: PageFault): Generator<Op, boolean, void> {
    const kvm = this.kvm;
    const gfn = fault.gfn;
    // Race: another fault making a shadow page of this gfn (write-protecting it) or a
    // zap taking the last one away; a memslot update (the counts are per memslot).
    yield opPair(READ, this.objSpt, READ, kvm.objMemslots);
    if (!this.isWriteTracked(gfn, fault.slot)) return false;
    // Race: other vCPUs' emulated writes counting toward a flood (under mmu_lock)
    // against this lockless reset of the counts on our walk.
    yield opWrite(this.objSpt);
    shadowPageTableClearFlood(this, vcpu, gfn);
    yield* kvm.mmuLock.writeLock();
    // Race: guests walking the shadow tables in hardware while we change them.
    yield opWrite(this.objSpt);
    yield* kvmMmuTrackWrite(this, gfn, this.guestCpu(vcpu).writeIndex, this.guestCpu(vcpu).writeThrough);
    yield* kvm.mmuLock.writeUnlockY();
    return true;
  }

  /**
   * @kernel paging_tmpl.h FNAME(page_fault) under mmu_lock — FNAME(fetch)
   * re-reads the guest PTEs the walk found (FNAME(gpte_changed)): one cleared
   * since sends the fault back; a write to a write-tracked guest table is emulated
   * (page_fault_handle_page_track, then kvm_mmu_track_write); otherwise follow the
   * guest's tables down from the root, making or finding the shadow page of each,
   * and install the leaf (read-only if the gfn is write-tracked; writable, its
   * pages made unsync, if it is shadowed only at level 1).
   */
  *map(vcpu: Vcpu, fault: PageFault): Generator<Op, RetPf, void> {
    const kvm = this.kvm;
    kvm.mmuLock.assertWriteHeld('FNAME(page_fault)');
    const root = this.sps[vcpu.root.root];
    if (root === undefined || root.freed) throw new ModelBug(`${vcpu.name}: fault with no root`);
    // FNAME(page_fault): after the stale check, before FNAME(fetch) makes any page
    // (roots are not reclaimed: the fault's own root stays).
    yield* makeMmuPagesAvailable(this, vcpu);
    // Race: guests walking the shadow tables in hardware while we change them; a
    // memslot update swapping the memslots the guest's tables are read through.
    yield opPair(WRITE, this.objSpt, READ, kvm.objMemslots);
    const gva = fault.gfn;
    const tables = this.walkOut;
    if (!this.guest.walk(vcpu.cr3, gva, tables)) {
      // FNAME(gpte_changed): the PTE guestWalk found present is clear now (with
      // shared processes, another vCPU's thread unmapped the page): RET_PF_RETRY,
      // no #PF; the access faults again, and that fault's walk injects it.
      modelAssert(this.guest.isUnmapped(vcpu.cr3, gva), `${vcpu.name}: no guest translation of ${hex(gva)} under CR3 ${cr3Text(vcpu.cr3)}`);
      return 'retry-gpte-changed';
    }
    // Write-protected since the fault's first test (pageTrackWrite): emulated all the same.
    if (fault.write && this.isWriteTracked(fault.gfn, fault.slot)) {
      shadowPageTableClearFlood(this, vcpu, fault.gfn);
      yield* kvmMmuTrackWrite(this, fault.gfn, this.guestCpu(vcpu).writeIndex, this.guestCpu(vcpu).writeThrough);
      return 'emulate';
    }
    if (root.gfn !== tables[0]) throw new ModelBug(`${vcpu.name}: root sp ${root.id} shadows ${hex(root.gfn)}, CR3 is ${cr3Text(tables[0]!)}`);
    for (let i = 0; i < ROOT_LEVEL; i++) this.assertGuestTableVisible(vcpu, tables[i]!);
    let sp = root;
    for (let level = ROOT_LEVEL; level > 1; level--) {
      // A fault walking the page shows the guest still uses it as a table.
      sp.writeFloodingCount = 0;
      const index = spteIndex(gva, level);
      const child = sp.sptes.get(index);
      if (child !== undefined) {
        sp = this.sps[child]!;
        continue;
      }
      const next = yield* this.getShadowPage(tables[ROOT_LEVEL - level + 1]!, level - 1, vcpu);
      linkShadowPage(sp, index, next);
      sp = next;
    }
    sp.writeFloodingCount = 0;
    const index = gva % SPTES_PER_PAGE;
    const old = sp.sptes.get(index);
    if (fault.slot === undefined) return yield* this.markMmioSpte(vcpu, sp, index, fault.gfn, old);
    if (old !== undefined && isMmioSpte(old)) {
      // The gfn has a memslot now: the MMIO SPTE (in no rmap) gives way to the leaf.
      sp.sptes.delete(index);
      sp.translations!.delete(index);
    }
    const present = old !== undefined && !isMmioSpte(old);
    if (present && (!fault.write || leafWritable(old))) return 'spurious';
    if (!present) {
      this.rmap.add(fault.gfn, spteRef(sp.id, index));
      sp.translations!.set(index, fault.gfn);
    }
    // make_spte: writable unless the gfn is write-tracked; a gfn shadowed only at
    // level 1 has its pages made unsync. (The model's guest PTEs are all writable
    // and dirty, as a kernel's direct map is.)
    const writable = !mmuTryToUnsyncPages(this, fault.gfn);
    // make_spte: a writable leaf in a logged slot marks its gfn dirty before it is stored.
    if (writable) {
      // In a logged slot the mark is a step of its own (this fault's step announces the
      // shadow tables and the memslots already). Race: the enabling ioctl's flag, and
      // under manual protect KVM_GET_DIRTY_LOG, which reads the bitmap under slots_lock
      // alone (the harvest and the clear take mmu_lock for write, which this fault holds).
      if (kvm.dirtyLog?.covers(fault.slot)) yield opWrite(kvm.dirtyLog.obj);
      markPageDirtyInSlot(kvm, vcpu.id, fault.slot, fault.gfn, present);
    }
    sp.sptes.set(index, makeLeaf(fault.pfn, writable));
    // make_spte sets the A bit of a leaf a fault (not a prefetch) installs.
    if (this.accessed !== null) this.accessed.add(spteRef(sp.id, index));
    kvm.emit({ e: 'spteSet', root: -1, sp: sp.id, gfn: fault.gfn, oldPfn: present ? leafPfn(old) : -1, newPfn: fault.pfn, level: 1, writable });
    kvm.rt.charge(kvm.costs.spteInstallNs);
    return 'fixed';
  }

  /**
   * @kernel mmu_set_spte → mark_mmio_spte — the fault found no memslot: the leaf
   * becomes an MMIO SPTE, in no rmap (kvm_unmap_gfn_range and the slot zaps pass
   * it by; zapping its page drops it), and the access is emulated. A present leaf
   * there is dropped first, with a flush (the kernel's protocol leaves none: a
   * memslot's SPTEs are zapped before it goes).
   */
  private *markMmioSpte(vcpu: Vcpu, sp: ShadowPage, index: number, gfn: number, old: number | undefined): Generator<Op, RetPf, void> {
    const kvm = this.kvm;
    const flush = old !== undefined && !isMmioSpte(old) && mmuPageZapPte(this, sp, index);
    const spte = makeMmioSpte(kvm);
    sp.sptes.set(index, spte);
    sp.translations!.set(index, gfn);
    kvm.emit({ e: 'mmioSpteSet', vcpu: vcpu.id, gfn, gen: mmioSpteGen(spte), inProgress: kvm.memslots.updateInProgress, root: -1, sp: sp.id });
    kvm.rt.charge(kvm.costs.spteInstallNs);
    if (flush) yield* kvmFlushRemoteTlbs(kvm, 'mmu_set_spte');
    return 'emulate';
  }

  /** @kernel kvm_unmap_gfn_range (rmap part) — zap the leaves mapping [start, end); no lock break. */
  *unmapGfnRange(start: number, end: number, _canYield: boolean): Generator<Op, boolean, void> {
    this.kvm.mmuLock.assertWriteHeld('kvm_unmap_gfn_range');
    let flush = false;
    for (const gfn of this.rmap.gfnsIn(start, end)) {
      // Race: guests reading these leaves in hardware while we clear them.
      yield opWrite(this.objSpt);
      for (const ref of [...this.rmap.get(gfn)]) if (mmuPageZapPte(this, this.sps[refPage(ref)]!, refIndex(ref))) flush = true;
    }
    return flush;
  }

  /**
   * @kernel kvm_mmu_slot_remove_write_access (rmap part) — under the write lock,
   * walk_slot_rmaps with slot_rmap_write_protect: every leaf of the slot's gfns
   * made read-only. No lock break (the kernel's walk may cond_resched_rwlock_write).
   */
  *slotRemoveWriteAccess(slot: Memslot): Generator<Op, number, void> {
    const kvm = this.kvm;
    yield* kvm.mmuLock.writeLock();
    let n = 0;
    for (const gfn of this.rmap.gfnsIn(slot.baseGfn, slot.baseGfn + slot.npages)) {
      // Race: guests reading these leaves in hardware while we clear their W bits.
      yield opWrite(this.objSpt);
      kvm.rt.charge(kvm.costs.dirtyLogWrprotNs);
      if (!kvmMmuSlotGfnWriteProtect(this, gfn)) continue;
      n++;
      kvm.emit({ e: 'dirtyLogWrprot', gfn, by: 'kvm_mmu_slot_apply_flags', wasWritable: true });
    }
    yield* kvm.mmuLock.writeUnlockY();
    return n;
  }

  /** @kernel kvm_mmu_write_protect_pt_masked — rmap_write_protect of the gfn's leaves, mmu_lock held for write. */
  writeProtectGfn(gfn: number, by: DirtyLogWrprotBy): boolean {
    this.kvm.mmuLock.assertWriteHeld('kvm_mmu_write_protect_pt_masked');
    const was = kvmMmuSlotGfnWriteProtect(this, gfn);
    this.kvm.emit({ e: 'dirtyLogWrprot', gfn, by, wasWritable: was });
    return was;
  }

  /** kvm_mmu_reload: build a root for CR3 when the current slot is empty. */
  *reloadRoot(vcpu: Vcpu): Task {
    if (vcpu.root.root >= 0) return;
    yield* kvmMmuLoad(this, vcpu);
  }

  currentRootObsolete(vcpu: Vcpu): boolean {
    const r = vcpu.root.root;
    if (r < 0) return true;
    const sp = this.sps[r]!;
    return sp.freed || isObsoleteSp(this.kvm, sp);
  }

  *freeObsoleteRoots(vcpu: Vcpu): Task {
    yield* kvmMmuFreeObsoleteRoots(this, vcpu);
  }

  *unloadRoots(vcpu: Vcpu): Task {
    yield* kvmMmuUnload(this, vcpu);
  }

  /** kvm_mmu_zap_all_fast under the write lock (see zap-all-fast.ts). */
  *zapAllFastLocked(_genBumped: boolean): Task {
    yield* shadowZapAllFastLocked(this);
  }

  /** Nothing left once the write lock is dropped: the obsolete pages were zapped under it. */
  *zapAllFastUnlocked(): Task {}

  /** @kernel kvm_arch_flush_shadow_memslot — as the memslotFlush setting says. */
  *flushShadowMemslot(slot: Memslot): Task {
    const how = this.kvm.settings.memslotFlush;
    switch (how) {
      case 'zap-all-fast':
        return yield* kvmMmuZapAllFast(this.kvm);
      case 'zap-all-lockbreak':
        return yield* kvmMmuZapAllLockbreak(this);
      case 'zap-slot':
        return yield* kvmMmuZapMemslot(this, slot, true);
      case 'zap-slot-rmap-only':
        return yield* kvmMmuZapMemslot(this, slot, false);
      default:
        return assertNever(how, 'memslotFlush');
    }
  }

  /**
   * The guest kernel's own work before the next access; 'cr3' and 'invlpg' exit to KVM. An
   * op: the guest kernel is about to touch the process state the vCPUs share;
   * the caller yields it and calls again with `granted`.
   */
  guestTick(vcpu: Vcpu, granted = false): GuestExitKind | Op | null {
    const g = this.guestCpu(vcpu);
    const r = g.tick(vcpu, this.kvm.rt.now(), granted);
    if (r !== 'mm') return r;
    // A PTE cleared or set again (munmap) is read by KVM's walks of the guest
    // tables, which announce the shadow tables: so does the step that stores it.
    if (this.sharedProcesses === null) return opRead(this.objSpt);
    return g.spec.munmapNs > 0 ? opPair(WRITE, this.sharedProcesses.obj, READ, this.objSpt) : opWrite(this.sharedProcesses.obj);
  }

  /**
   * The CR3-load intercept: handle_cr → kvm_set_cr3. A CR3 other than the one
   * loaded goes to kvm_mmu_new_pgd; the same one (a process flushing its TLB)
   * does not, and the kernel keeps its roots as they are. Either way (no PCIDs:
   * PCID 0, the active one) kvm_invalidate_pcid asks for KVM_REQ_MMU_SYNC and
   * KVM_REQ_TLB_FLUSH_CURRENT: the guest's translations go. Both are serviced
   * by vcpu_enter_guest, after KVM_REQ_MMU_FREE_OBSOLETE_ROOTS: a current root
   * that is obsolete is freed first, and not synced (kvm_mmu_load builds and
   * syncs its successor).
   */
  *handleGuestExit(vcpu: Vcpu): Task {
    const kvm = this.kvm;
    const g = this.guestCpu(vcpu);
    // handle_invlpg → kvm_mmu_invlpg (shadow-invlpg.ts).
    if (g.pendingInvlpg >= 0) return yield* kvmMmuInvlpg(this, vcpu, g.takeInvlpg());
    const pgd = g.takeCr3();
    const old = vcpu.cr3;
    vcpu.cr3 = pgd;
    if (kvm.listens('cr3Write')) kvm.emit({ e: 'cr3Write', vcpu: vcpu.id, cr3: pgd, old, root: vcpu.root.root });
    // The same CR3 keeps the roots as they are: a zapped current root goes by the
    // request that came with its zap, an empty slot is filled by kvm_mmu_load.
    if (pgd !== old) yield* kvmMmuNewPgd(this, vcpu, pgd);
    // kvm_invalidate_pcid: requests to itself, no kick (no step of their own: the
    // bits are this vCPU's, and setting two of them commutes with another thread's request).
    kvmMakeRequest(vcpu, KVM_REQ_MMU_SYNC);
    kvmMakeRequest(vcpu, KVM_REQ_TLB_FLUSH_CURRENT);
  }

  pendingInvlpg(vcpu: Vcpu): number {
    return this.guestCpu(vcpu).pendingInvlpg;
  }

  /** KVM_REQ_MMU_SYNC: kvm_mmu_sync_roots (shadow-unsync.ts). */
  *syncRoots(vcpu: Vcpu): Task {
    yield* kvmMmuSyncRoots(this, vcpu);
  }

  rootId(vcpu: Vcpu): number {
    return vcpu.root.root;
  }

  rootProblem(vcpu: Vcpu): string | null {
    const r = vcpu.root.root;
    if (r < 0) return 'no root loaded';
    const sp = this.sps[r]!;
    if (sp.freed) return `root sp ${r} (gfn ${hex(sp.gfn)}) was freed`;
    // Marked a moment ago and the request has not reached this vCPU yet: its IPI
    // will. That excuses a root the request is about (invalid or obsolete), only.
    const requestComing = this.rootDropInFlight > 0 && (vcpu.requests & (1 << rootZapRequest(this.kvm))) === 0;
    if (sp.invalid) {
      if (requestComing) return null;
      const asked = (vcpu.requests & (1 << rootZapRequest(this.kvm))) !== 0;
      return `root sp ${r} (gfn ${hex(sp.gfn)}) is invalid: it was zapped while in use${asked ? '' : ', and no request to drop it reached this vCPU'}`;
    }
    if (sp.mmuValidGen !== this.kvm.mmuValidGen) {
      return requestComing ? null : `root sp ${r} (gfn ${hex(sp.gfn)}) is obsolete: made in mmu_valid_gen ${sp.mmuValidGen}, now ${this.kvm.mmuValidGen}`;
    }
    if (sp.gfn !== vcpu.cr3) return `root sp ${r} shadows gfn ${hex(sp.gfn)}, but CR3 is ${cr3Text(vcpu.cr3)}`;
    // Seed 003 (P6): servicing KVM_REQ_MMU_FREE_OBSOLETE_ROOTS leaves no obsolete root cached
    // either (a cached one is reused by a CR3 switch without a rebuild).
    for (const prev of requestComing ? [] : vcpu.prevRoots) {
      if (!isObsoleteRoot(this, prev.root)) continue;
      const p = this.sps[prev.root]!;
      // Not a root it runs on: an invalid one is never reused (is_root_usable), but its reference keeps the zapped
      // page from being freed; one only of an old generation is reused by the next CR3 switch to it.
      const harm = p.invalid
        ? 'its reference keeps the zapped page from being freed'
        : 'a CR3 switch to it reuses it (fast_pgd_switch), and the vCPU faults on it with no end';
      return `previous root sp ${prev.root} (CR3 ${cr3Text(prev.pgd)}) is ${p.invalid ? 'invalid' : `obsolete (mmu_valid_gen ${p.mmuValidGen}, now ${this.kvm.mmuValidGen})`}, still cached with no request to free it pending: ${harm}`;
    }
    return null;
  }

  findMapping(start: number, end: number): { root: number; gfn: number; pfn: number } | null {
    const gfn = this.rmap.firstIn(start, end);
    if (gfn < 0) return null;
    const ref = this.rmap.get(gfn)[0]!;
    const sp = this.sps[refPage(ref)]!;
    return { root: sp.id, gfn, pfn: leafPfn(sp.sptes.get(refIndex(ref))!) };
  }

  checkAccounting(): string[] {
    return checkShadowAccounting(this);
  }

  /**
   * After a fast zap every page of the old generation is freed or invalid, so the
   * next toggle, which brings that generation back, brings no page back to life:
   * why one bit of mmu_valid_gen is enough (kvm-semantics 2.2).
   */
  obsoletePageLeft(): string | null {
    const gen = this.kvm.mmuValidGen;
    let first: ShadowPage | null = null;
    let n = 0;
    for (let sp = this.active.tail; sp !== null; sp = sp.newer) {
      if (sp.invalid || sp.mmuValidGen === gen) continue;
      first ??= sp;
      n++;
    }
    if (first === null) return null;
    return (
      `sp ${first.id} (gfn ${hex(first.gfn)}, level ${first.level}) of mmu_valid_gen ${first.mmuValidGen} is still on active_mmu_pages, not invalid` +
      `${n > 1 ? `, and ${n - 1} more` : ''}: the next toggle makes it valid again`
    );
  }

  /** Whether this accounting check should recount everything (see checkShadowAccounting). */
  recountDue(): boolean {
    this.checkCalls++;
    // A memslot that went away (or moved) may leave pages accounted in it: recount now.
    let slotGone = false;
    if (this.kvm.memslots !== this.lastMemslots) {
      this.lastMemslots = this.kvm.memslots;
      const keys = this.kvm.memslots.slots.map(slotArchKey).join(',');
      slotGone = keys !== this.lastSlotKeys;
      this.lastSlotKeys = keys;
    }
    if (!recountDueFor(this.active.count, this.checkCalls, slotGone)) return false;
    this.checkCalls = 0;
    return true;
  }

  gauges(): { shadowPages: number; roots: number } {
    return { shadowPages: this.liveCount, roots: this.rootSps.size };
  }
}
