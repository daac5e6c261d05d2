import { OP_SPIN, type Op, opPair, opWrite, READ, SHARED, WRITE } from '../runtime/op.js';
import type { Task, Thread } from '../runtime/thread.js';
import { kvmVcpuReloadApicAccessPage } from './apic-access.js';
import { kvmDirtyRingCheckRequest } from './dirty-ring.js';
import { kvmDirtyRingReap } from './dirty-ring-vmm.js';
import { PF_VECTOR } from './events.js';
import type { Kvm } from './kvm.js';
import { gfnToHva } from './memslots.js';
import { handleMmioPageFault, isMmioSpte } from './mmio-spte.js';
import { kvmMmuPageFault } from './page-fault.js';
import {
  KVM_REQ_APIC_PAGE_RELOAD,
  KVM_REQ_DIRTY_RING_SOFT_FULL,
  KVM_REQ_LOAD_MMU_PGD,
  KVM_REQ_MMU_FREE_OBSOLETE_ROOTS,
  KVM_REQ_MMU_RELOAD,
  KVM_REQ_MMU_SYNC,
  KVM_REQ_TLB_FLUSH,
  KVM_REQ_TLB_FLUSH_CURRENT,
} from './requests.js';
import { tlbEntry, tlbEntryPfn, tlbEntryWritable } from './tlb-entry.js';
import { kvmCheckRequest } from './vcpu-requests.js';
import type { AccessPattern } from './workload.js';

export const OUTSIDE_GUEST_MODE = 0;
export const IN_GUEST_MODE = 1;
export const EXITING_GUEST_MODE = 2;

/** TLB entries a vCPU keeps before evicting the oldest. */
const TLB_CAPACITY = 1536;

/** Why the guest stopped running. */
type GuestExit =
  /** EPT violation / shadow page fault on `gfn` (`present`: a present SPTE refused the write, PFERR_PRESENT) */
  | { kind: 'fault'; gfn: number; write: boolean; present?: boolean }
  /** the access reached an MMIO SPTE (EPT misconfiguration / #PF with a reserved bit) */
  | { kind: 'mmio'; gfn: number; write: boolean }
  /** a request's IPI kicked the vCPU out */
  | { kind: 'kick' }
  /** the late pre-entry check found work to do */
  | { kind: 'cancelled' }
  /** KVM_EXIT_DIRTY_RING_FULL: the vCPU's dirty ring is soft full; back to userspace, which collects and resets the rings */
  | { kind: 'dirty-ring-full' }
  /** the guest kernel's own work needs KVM (under shadow paging, a CR3 load or an INVLPG) */
  | { kind: 'guest' }
  /** the workload is finished */
  | { kind: 'done' };

/** A guest process, for shadow paging: its top-level page table gfn (CR3). */
export interface RootInfo {
  /** Guest CR3 (pgd) the root shadows; -1 for direct roots. */
  pgd: number;
  /** Root id (the hpa), -1 when empty (INVALID_PAGE). */
  root: number;
}

/** struct kvm_vcpu and the bits of kvm_vcpu_arch the model needs. */
export class Vcpu {
  /** The thread running vcpu_run. */
  thread!: Thread;
  /**
   * Object id of this vCPU's mode in guest mode and its acknowledgements of
   * kicks: a kicker's request step and its wait for the acknowledgement, and
   * the vCPU's steps in guest mode (each may leave it on a kick), announce it.
   */
  readonly obj: number;
  /**
   * Object id of this vCPU's request bits (vcpu->requests): a kicker's
   * request step, the vCPU's servicing of its requests and its VM-entry
   * announce it. The entry's store of IN_GUEST_MODE is announced with the
   * bits it re-reads, not as `obj`: every other step that reads the mode (a
   * kicker's request step, request-mode-read-early's read) touches the bits
   * too, and a kicker's wait reads only the acknowledgement, which a vCPU it
   * kicked gave before it left guest mode.
   */
  readonly objRequests: number;
  /** vcpu->mode. */
  mode = OUTSIDE_GUEST_MODE;
  /** vcpu->requests, a bit per KVM_REQ_*. */
  requests = 0;
  /** Requests pending that this vCPU made to every vCPU itself (kvm_make_all_cpus_request from its own thread). */
  ownRequests = 0;
  /** Kicks received (IN_GUEST → EXITING) and acknowledged (left guest mode). */
  kicks = 0;
  acks = 0;
  /** mmu->root: current root. */
  readonly root: RootInfo = { pgd: -1, root: -1 };
  /** mmu->prev_roots (KVM_MMU_NUM_PREV_ROOTS = 3), shadow paging only. */
  readonly prevRoots: RootInfo[] = [
    { pgd: -1, root: -1 },
    { pgd: -1, root: -1 },
    { pgd: -1, root: -1 },
  ];
  /** Guest CR3 the vCPU runs with (shadow paging). */
  cr3 = -1;
  /** Cached translations, gfn → tlbEntry (pfn and write permission); they outlive SPTE zaps and write protection until flushed. */
  readonly tlb = new Map<number, number>();
  /** The pfn written to APIC_ACCESS_ADDR, or -1. */
  apicAccessPfn = -1;
  /**
   * The pfn whose page reference get_user_pages took for this vCPU, or -1: a
   * fault holds it until it ends (installed or not, the kernel releases it
   * then), an APIC-access reload until APIC_ACCESS_ADDR is written or the reload
   * re-requested. The model's host frees a page at once all the same
   * (docs/model-limits.md, "Page references"); the reports say so.
   */
  get gupPfn(): number {
    return this.gupRef;
  }
  private gupRef = -1;

  /** get_user_pages took a reference to `pfn` for this vCPU (the host counts it, HostMm.gupRefs); one it held before goes. */
  holdPage(pfn: number): void {
    this.putPage();
    this.kvm.host.getPage(pfn);
    this.gupRef = pfn;
  }

  /** The page reference get_user_pages took goes (put_page), if the vCPU holds one. */
  putPage(): void {
    if (this.gupRef < 0) return;
    this.kvm.host.putPage(this.gupRef);
    this.gupRef = -1;
  }
  /** The guest's next access (kept across a fault, which re-executes it). */
  nextGfn = 0;
  nextWrite = false;
  /** Accesses done, and the limit (0: none). */
  accessesDone = 0;
  accessLimit = 0;
  /** First exit and retries of the fault being resolved, for latency. */
  faultSince = -1;
  faultRetries = 0;
  /** The gfn of the last fault that ended without RET_PF_RETRY, until an access retires (−1): a fault on it meanwhile is a refault. */
  fixedGfn = -1;
  /**
   * A #PF queued for the guest (kvm_queue_exception_e, by the shadow MMU's walk
   * of the guest's tables): its error code, -1 for none. vcpu_enter_guest
   * injects it; it is gone once the guest is entered.
   */
  queuedPfErrorCode = -1;
  /** The queued #PF was injected for an entry that was then cancelled (exception.injected): the next one reinjects it. */
  pfInjected = false;
  /** precheck-plain-read mutant: the in-progress count read once and kept. */
  cachedInProgress: number | undefined;
  /** Free slot for the MMU backend (shadow paging's guest process state). */
  guest: unknown;

  constructor(
    readonly kvm: Kvm,
    readonly id: number,
    readonly pattern: AccessPattern,
  ) {
    this.obj = kvm.rt.objects.id(`vcpu${id}`);
    this.objRequests = kvm.rt.objects.id(`vcpu${id} requests`);
    // The phase it enters, for a sink that reads it (Perfetto, ftrace, the story): built only then; no hook without phases.
    if (pattern.phased)
      pattern.onPhase = (phase, spec, plan) => {
        if (!kvm.listens('workloadPhase')) return;
        const { pattern: p, gfnStart, gfnCount } = spec;
        kvm.emit({ e: 'workloadPhase', vcpu: id, phase, pattern: p, gfnStart, gfnCount, byAccess: plan.byAccess, start: plan.starts[phase]! });
      };
  }

  get name(): string {
    return `vCPU${this.id}`;
  }

  /** @kernel vcpu_run — enter the guest until the workload is done. */
  *vcpuRun(): Task {
    const kvm = this.kvm;
    this.drawNextAccess();
    // Race: a memslot update's synchronize_srcu waits for readers that entered before it.
    yield kvm.srcu.readOp;
    kvm.srcu.readLock();
    for (;;) {
      const exit = yield* this.vcpuEnterGuest();
      // The mutant services the flush request once the guest has run on the old TLB.
      if (kvm.mutation.has('tlb-flush-after-entry') && kvmCheckRequest(this, KVM_REQ_TLB_FLUSH)) this.flushTlb();
      if (exit.kind !== 'cancelled' && exit.kind !== 'done' && exit.kind !== 'dirty-ring-full') {
        // Back in KVM after a VM-exit: re-enter the SRCU read side. Race: a memslot
        // update's synchronize_srcu, which waits only for readers that entered before it.
        yield kvm.srcu.readOp;
        kvm.srcu.readLock();
      }
      switch (exit.kind) {
        case 'done':
          return;
        case 'kick':
          break;
        case 'dirty-ring-full':
          // The VMM's vCPU thread, back from KVM_RUN with KVM_EXIT_DIRTY_RING_FULL,
          // reaps the rings itself (QEMU: kvm_dirty_ring_reap under the BQL), then
          // calls KVM_RUN again. Race: a memslot update's synchronize_srcu, as above.
          yield* kvmDirtyRingReap(kvm, kvm.dirtyLog!, 'exit');
          yield kvm.srcu.readOp;
          kvm.srcu.readLock();
          break;
        case 'guest':
          if (kvm.mmu.handleGuestExit !== undefined) yield* kvm.mmu.handleGuestExit(this);
          break;
        case 'cancelled':
          // A request this vCPU made to every vCPU after servicing (the flush of its
          // own root load): the next round services it, which is progress, though no
          // other thread wrote anything; its first step is one of its own.
          if ((this.requests & this.ownRequests) !== 0) break;
          // A request pending that servicing re-made (the APIC-access retry), or
          // another thread's: the vCPU goes round vcpu_run again, a busy loop until it clears.
          // Race: the invalidation of the APIC-access page it waits for to end
          // (a spin: switching away is no preemption; no write since is no progress).
          kvm.rt.charge(kvm.costs.retryPauseNs);
          yield OP_SPIN;
          break;
        case 'mmio':
        case 'fault': {
          if (exit.kind === 'mmio') {
            // kvm_mmu_page_fault with PFERR_RSVD_MASK: the MMIO fast path first.
            const fast = yield* handleMmioPageFault(this, exit.gfn);
            if (fast === 'emulate') {
              // Emulated as MMIO: the access is done, as an emulated fault's is.
              if (this.faultSince >= 0) {
                kvm.emit({ e: 'faultResolved', vcpu: this.id, gfn: exit.gfn, latencyNs: this.faultLatency(), retries: this.faultRetries });
                this.faultSince = -1;
              }
              this.accessDone();
              break;
            }
            // 'retry': the SPTE changed under us; the guest re-executes the access.
            if (fast === 'retry') break;
            // 'invalid' (RET_PF_INVALID): the full fault path, below.
          }
          // kvm_mmu_page_fault's full path (in this frame, not a helper's: every fault's steps resume through it).
          if (this.faultSince < 0) {
            this.faultSince = kvm.rt.now();
            this.faultRetries = 0;
          }
          const ret = yield* kvmMmuPageFault(this, exit.gfn, exit.write, exit.kind === 'fault' && exit.present === true);
          if (ret === 'retry-precheck' || ret === 'retry-stale' || ret === 'retry-invalid-slot') {
            this.faultRetries++;
            // RET_PF_RETRY: re-enter the guest, which re-executes the access and faults
            // again; progress needs another thread to finish its invalidation or update.
            // Race: that invalidation's end or that memslot update (a spin, as above).
            kvm.rt.charge(kvm.costs.retryPauseNs);
            yield OP_SPIN;
          } else if (ret === 'retry-gpte-changed') {
            // RET_PF_RETRY for a guest PTE changed since the walk: no spin, nothing to
            // wait for; the access faults again and the walk sees the change.
            this.faultRetries++;
          } else {
            this.faultSince = -1;
            // The access re-executes; a fault on the gfn again before it retires is a refault.
            this.fixedGfn = exit.gfn;
            if (ret === 'emulate') this.accessDone();
          }
          break;
        }
      }
    }
  }

  /** @kernel vcpu_enter_guest — service requests, load the MMU, late check, run the guest. */
  *vcpuEnterGuest(): Generator<number, GuestExit, void> {
    const kvm = this.kvm;
    // Race: requests made by other threads while we service ours. With the
    // dirty ring's soft-full request pending, also KVM_RESET_DIRTY_RINGS
    // advancing reset_index, which decides whether the vCPU may enter. Out of
    // guest mode, the vCPU touches only its request bits here, not its mode
    // (no kicker changes it, nor waits for an acknowledgement from it).
    yield (this.requests & (1 << KVM_REQ_DIRTY_RING_SOFT_FULL)) !== 0 ? opPair(WRITE, this.objRequests, READ, kvm.dirtyLog!.obj) : opWrite(this.objRequests);
    kvm.rt.charge(kvm.costs.enterGuestNs);
    if (this.requests !== 0) {
      // kvm_dirty_ring_check_request, first of the request checks: a soft-full
      // ring sends the vCPU back to userspace (vcpu_run returns, dropping SRCU
      // in a step of its own, as the 'done' exit does. Race: a memslot
      // update's synchronize_srcu, which waits for this reader).
      const rings = kvm.dirtyLog?.rings;
      if (rings != null && kvmDirtyRingCheckRequest(this, rings[this.id]!)) {
        yield kvm.srcu.readOp;
        kvm.srcu.readUnlock();
        return { kind: 'dirty-ring-full' };
      }
      yield* this.serviceRequests();
    }
    if (this.accessLimit > 0 && this.accessesDone >= this.accessLimit) {
      // The workload is over: leave KVM. Race: a memslot update's synchronize_srcu.
      yield kvm.srcu.readOp;
      kvm.srcu.readUnlock();
      return { kind: 'done' };
    }
    // kvm_check_and_inject_events: the exception a fault queued goes in now,
    // after the requests and before kvm_mmu_reload (no step of its own: it
    // touches only this vCPU).
    if (this.queuedPfErrorCode >= 0) this.injectException();
    // kvm_mmu_reload: only a vCPU with no root (INVALID_PAGE) loads one; the test is inline, as the kernel's is.
    if (this.root.root < 0) yield* kvm.mmu.reloadRoot(this);

    // Race: a request made after servicing. Storing IN_GUEST_MODE and re-reading the
    // request bits is one step, which is the smp_mb between them (announced as the
    // bits: see objRequests). Dropping the SRCU read lock here races with a memslot
    // update's synchronize_srcu.
    yield opPair(WRITE, this.objRequests, SHARED, kvm.srcu.obj);
    kvm.srcu.readUnlock();
    this.mode = IN_GUEST_MODE;
    if (this.pendingAtEntry() !== 0 && !kvm.mutation.acts('vcpu-enter-ignores-requests')) {
      this.mode = OUTSIDE_GUEST_MODE;
      kvm.srcu.readLock();
      kvm.emit({ e: 'entryCancelled', vcpu: this.id, requests: this.requests });
      return { kind: 'cancelled' };
    }
    // The guest takes the injected #PF at entry (tested first: this is every entry's path).
    if (this.queuedPfErrorCode >= 0) {
      this.queuedPfErrorCode = -1;
      this.pfInjected = false;
    }
    kvm.emit({ e: 'vmEntry', vcpu: this.id, root: kvm.mmu.rootId(this), apicPfn: this.apicAccessPfn });
    kvm.rt.charge(kvm.costs.vmExitEntryNs / 2);
    return yield* this.runGuest();
  }

  /**
   * @kernel kvm_inject_exception — the queued #PF goes into the VMCS for the
   * coming entry; traced as such, reinjected when an entry it was injected for
   * was cancelled (cancel_injection keeps it as injected).
   */
  private injectException(): void {
    const kvm = this.kvm;
    if (kvm.listens('injException')) {
      kvm.emit({ e: 'injException', vcpu: this.id, vector: PF_VECTOR, errorCode: this.queuedPfErrorCode, reinjected: this.pfInjected });
    }
    this.pfInjected = true;
  }

  /** Guest mode: accesses through the TLB, then the SPTEs, until an exit. */
  private *runGuest(): Generator<number, GuestExit, void> {
    const kvm = this.kvm;
    const mmu = kvm.mmu;
    const tick = mmu.guestTick;
    for (;;) {
      // Shadow paging: the guest kernel's own work comes first. What reads only this
      // vCPU's guest state belongs to the previous step; what touches state other
      // vCPUs see (shared processes, a PTE KVM's walks read) asks for a step of its own.
      let g = tick === undefined ? null : tick.call(mmu, this);
      const ownStep = typeof g === 'number';
      if (typeof g === 'number') {
        // Race: the other vCPUs' guest kernels exiting, forking and switching the
        // processes whose threads they share with this one (workload.sharedProcesses);
        // KVM's walks of the guest tables reading a PTE this guest clears or sets
        // again (workload.munmapNs).
        yield g;
        g = tick!.call(mmu, this, true);
      }
      if (g === 'cr3' || g === 'invlpg') {
        // Race: a kick (mode) against this exit; without a step of its own the
        // tick is in the step of the last access or of the entry, which announced
        // this vCPU.
        if (ownStep) yield opWrite(this.obj);
        // A kick that came before the exit is acknowledged by it: the IPI reaches
        // the host whatever the exit reason, and the kicker waits for it.
        if (this.mode === EXITING_GUEST_MODE) this.ackKick();
        this.leaveGuest();
        kvm.rt.charge(kvm.costs.vmExitEntryNs / 2);
        // An INVLPG exit's qualification is the linear address it flushes (gva = gfn in this model).
        if (g === 'invlpg') kvm.emit({ e: 'vmExit', vcpu: this.id, reason: g, gfn: mmu.pendingInvlpg!(this) });
        else kvm.emit({ e: 'vmExit', vcpu: this.id, reason: g });
        return { kind: 'guest' };
      }
      // Race: a kick (mode) and a zap of this gfn's SPTE against the guest's access;
      // leaving guest mode on a kick writes the mode and acknowledges the IPI, which
      // the kicker waits for. An access that hits in the TLB does not walk the SPTEs,
      // and only this vCPU fills or flushes its TLB; it reaches the host page behind
      // the entry, though, so it races with the host changing that page's PTE (a
      // use after free when no flush came between: what the oracle checks here).
      // A TLB entry serves the access when it allows it: a write through a
      // read-only entry walks the SPTEs again, as the hardware does. Where
      // reclaim ages pages the walk writes the leaf (its Accessed bit), racing
      // with kvm_age_gfn's read and clear of it (Kvm.spteWalk).
      const entry = this.tlb.get(this.nextGfn);
      const hit = entry !== undefined && (!this.nextWrite || tlbEntryWritable(entry));
      yield hit ? this.tlbAccessOp(this.nextGfn) : opPair(WRITE, this.obj, kvm.spteWalk, mmu.spteObject(this.nextGfn));
      if (this.mode === EXITING_GUEST_MODE) {
        this.leaveGuest();
        this.ackKick();
        kvm.emit({ e: 'vmExit', vcpu: this.id, reason: 'kick' });
        return { kind: 'kick' };
      }
      const gfn = this.nextGfn;
      const write = this.nextWrite;
      // Only this vCPU fills or flushes its TLB: the entry is as it was before the yield.
      let pfn: number;
      let via: 'tlb' | 'spte' = 'tlb';
      if (hit) {
        pfn = tlbEntryPfn(entry!);
      } else {
        pfn = mmu.walk(this, gfn, write);
        via = 'spte';
        if (pfn < 0) {
          this.leaveGuest();
          kvm.rt.charge(kvm.costs.vmExitEntryNs / 2);
          // An MMIO SPTE: its reserved bits make the walk exit (it never enters the TLB).
          if (isMmioSpte(pfn)) {
            kvm.emit({ e: 'vmExit', vcpu: this.id, reason: mmu.mmioExit, gfn, write });
            return { kind: 'mmio', gfn, write };
          }
          // A write the leaf refused, read-only (shadow paging's write protection, dirty logging's), is told apart for traces.
          // A software look (hardware false): it sets no A bit.
          const reason = write && mmu.walk(this, gfn, false, false) >= 0 ? mmu.writeProtectExit : mmu.faultExit;
          kvm.emit({ e: 'vmExit', vcpu: this.id, reason, gfn, write });
          return { kind: 'fault', gfn, write, present: reason === mmu.writeProtectExit };
        }
        this.tlbFill(gfn, tlbEntry(pfn, mmu.walkWritable));
        // In a dirty-log world a write's store to the host page is a step of its own
        // after the walk, announcing the page written (as a write through the TLB
        // does). Race it exists for: the VMM's copy of the page (copyPages reads it):
        // whether the store comes before or after the copy decides whether the copy
        // has it (lost-dirty-write), and the walk's step, which reads the SPTE, cannot
        // announce the page too. Kicked meanwhile, the store still lands (the
        // instruction completes with the translation it got; the next access's step
        // takes the kick), and no flush waited for can free the page before it.
        if (write && kvm.dirtyLog !== null) {
          // Said at the walk, so that a counterexample shows where the translation was read (before a write protection, say).
          kvm.emit({ e: 'guestWalk', vcpu: this.id, gfn, pfn });
          yield this.tlbAccessOp(gfn);
        }
      }
      kvm.emit(
        via === 'spte' && write && kvm.dirtyLog !== null
          ? { e: 'guestAccess', vcpu: this.id, gfn, pfn, write, via, afterWalk: true }
          : { e: 'guestAccess', vcpu: this.id, gfn, pfn, write, via },
      );
      if (this.faultSince >= 0) {
        // The access a fault retried went through without faulting again (another
        // vCPU installed the SPTE meanwhile): its fault is resolved here.
        kvm.emit({ e: 'faultResolved', vcpu: this.id, gfn, latencyNs: this.faultLatency(), retries: this.faultRetries });
        this.faultSince = -1;
      }
      kvm.rt.charge(kvm.costs.guestAccessNs);
      this.accessDone();
      if (this.accessLimit > 0 && this.accessesDone >= this.accessLimit) {
        // A kick that came during a dirty-log world's store step (after the walk) is
        // acknowledged by this exit, as any exit does; elsewhere none can come here.
        if (this.mode === EXITING_GUEST_MODE) this.ackKick();
        this.leaveGuest();
        kvm.emit({ e: 'vmExit', vcpu: this.id, reason: 'done' });
        return { kind: 'done' };
      }
    }
  }

  /**
   * A guest access through the TLB: this vCPU's state, and the host PTE of the
   * page it reaches. Where a slot's writes are logged, a write changes the page
   * that the VMM's copy reads (dirty-log-ioctl.ts): the page is written.
   */
  private tlbAccessOp(gfn: number): Op {
    const slot = this.kvm.memslots.gfnToMemslot(gfn);
    if (slot === undefined) return opWrite(this.obj);
    const page = this.nextWrite && this.kvm.dirtyLog !== null ? WRITE : READ;
    return opPair(WRITE, this.obj, page, this.kvm.objHostPte(gfnToHva(slot, gfn)));
  }

  /** Time since the first EPT violation of the access now faulting (0 when none is). */
  faultLatency(): number {
    return this.faultSince < 0 ? 0 : this.kvm.rt.now() - this.faultSince;
  }

  /** Acknowledges a kick's IPI (the kicker of a WAIT request waits for it). */
  private ackKick(): void {
    this.acks++;
    this.kvm.rt.charge(this.kvm.costs.ipiAckNs);
    // Only the kicker waiting for this vCPU's acknowledgement is woken (the
    // kernel's kvm_make_all_cpus_request waits once for all of them). Race it
    // exists for: a kicker that waits for another vCPU's ack, woken by this one,
    // would re-test and block again, so this exit and the kicker's blocking test
    // (announced on different vCPUs) would not commute: blocked before the exit it
    // gets a spurious re-test step, after it none (`audit` found the pair in
    // dirty-log-mini, fast-pf-mini and memslot-delete-lockbreak-mini under TDP).
    this.kvm.ipiAckWait.wakeReady();
  }

  /** VM-exit: back to OUTSIDE_GUEST_MODE (vcpu_run re-takes SRCU in its own step). */
  private leaveGuest(): void {
    this.mode = OUTSIDE_GUEST_MODE;
  }

  /** Counts an access and draws the next one, charging the guest's think time. */
  private accessDone(): void {
    this.accessesDone++;
    this.fixedGfn = -1;
    this.drawNextAccess();
  }

  private drawNextAccess(): void {
    this.nextGfn = this.pattern.nextGfn();
    this.nextWrite = this.pattern.nextWrite();
    this.kvm.rt.charge(this.pattern.interval);
  }

  /** Caches a translation (a tlbEntry: the pfn and whether it allows writes), evicting the oldest when full. */
  tlbFill(gfn: number, entry: number): void {
    if (this.tlb.size >= TLB_CAPACITY) {
      const oldest = this.tlb.keys().next().value as number;
      this.tlb.delete(oldest);
    }
    this.tlb.set(gfn, entry);
  }

  /** Flushes this vCPU's TLB (kvm_vcpu_flush_tlb_all / a new root's flush). */
  flushTlb(): void {
    this.tlb.clear();
    this.kvm.emit({ e: 'tlbFlush', vcpu: this.id });
    this.kvm.rt.charge(this.kvm.costs.tlbFlushNs);
  }

  /** The requests that cancel a VM-entry: all of them (tlb-flush-after-entry's mutant lets a TLB flush through). */
  private pendingAtEntry(): number {
    const flush = 1 << KVM_REQ_TLB_FLUSH;
    if ((this.requests & flush) === 0 || !this.kvm.mutation.has('tlb-flush-after-entry')) return this.requests;
    this.kvm.mutation.tookEffect();
    return this.requests & ~flush;
  }

  /** The request loop at the top of vcpu_enter_guest, in the kernel's order. */
  private *serviceRequests(): Task {
    const kvm = this.kvm;
    if (kvmCheckRequest(this, KVM_REQ_MMU_FREE_OBSOLETE_ROOTS)) {
      yield* kvm.mmu.freeObsoleteRoots(this);
      // Race: requests made to us while we looked at the roots (the look is a step of its own).
      yield opWrite(this.objRequests);
    }
    if (kvmCheckRequest(this, KVM_REQ_MMU_RELOAD)) yield* kvm.mmu.unloadRoots(this);
    // After the obsolete roots are freed: a freed current root is not synced.
    if (kvmCheckRequest(this, KVM_REQ_MMU_SYNC) && kvm.mmu.syncRoots !== undefined) yield* kvm.mmu.syncRoots(this);
    kvmCheckRequest(this, KVM_REQ_LOAD_MMU_PGD);
    if (!kvm.mutation.has('tlb-flush-after-entry') && kvmCheckRequest(this, KVM_REQ_TLB_FLUSH)) {
      this.flushTlb();
      // kvm_vcpu_flush_tlb_all: flushing all flushes the current root's too.
      this.requests &= ~(1 << KVM_REQ_TLB_FLUSH_CURRENT);
    }
    // kvm_service_local_tlb_flush_requests.
    if (kvmCheckRequest(this, KVM_REQ_TLB_FLUSH_CURRENT)) this.flushTlb();
    if (kvmCheckRequest(this, KVM_REQ_APIC_PAGE_RELOAD)) yield* kvmVcpuReloadApicAccessPage(this);
  }
}
