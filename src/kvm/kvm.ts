import { OP_LOCAL, op2, opWrite, READ, WRITE } from '../runtime/op.js';
import type { Runtime } from '../runtime/runtime.js';
import { RwLock } from '../runtime/rwlock.js';
import { Srcu } from '../runtime/srcu.js';
import type { Task } from '../runtime/thread.js';
import { WaitQueue } from '../runtime/wait-queue.js';
import type { Costs } from './costs.js';
import type { DirtyLog } from './dirty-log.js';
import { type Routes, route, routesFor, routesWith } from './event-routes.js';
import type { EventStamp, KvmEvent, Sink } from './events.js';
import { HostMm } from './host-mm.js';
import type { Memslots } from './memslots.js';
import type { MmuBackend } from './mmu-backend.js';
import type { Mutation } from './mutants.js';
import type { Settings } from './settings.js';
import type { Vcpu } from './vcpu.js';

/** The all-ones sentinel of an unset invalidation range. */
export const INVALID_GPA = Number.MAX_SAFE_INTEGER;

/** Buckets for per-gfn and per-hva object families (folding keeps ids small). */
const FAMILY_BUCKETS = 64;

/** struct kvm: the VM-wide state every thread shares. */
export class Kvm {
  // locks and synchronisation
  /** kvm->mmu_lock, an rwlock on x86. */
  readonly mmuLock: RwLock;
  /** kvm->slots_lock, held across memslot updates and every fast zap. */
  readonly slotsLock: RwLock;
  /** kvm->srcu, protecting the memslots. */
  readonly srcu: Srcu;
  /** mn_memslots_update_rcuwait: the memslot updater waits here for notifiers to finish. */
  readonly mnMemslotsUpdateWait: WaitQueue;
  /** get_user_pages waits here for the host to finish changing a page. */
  readonly hostPageWait: WaitQueue;
  /** Makers of WAIT requests wait here for kicked vCPUs to leave guest mode. */
  readonly ipiAckWait: WaitQueue;

  // mmu_notifier invalidation accounting (section 1 of kvm-semantics.md)
  /** Bumped once at the end of every invalidation that touched a memslot. */
  mmuInvalidateSeq = 0;
  /** Invalidations begun and not yet ended. */
  mmuInvalidateInProgress = 0;
  /** Union hull [start, end) of the ranges of the in-progress invalidations, in gfns. */
  mmuInvalidateRangeStart = INVALID_GPA;
  mmuInvalidateRangeEnd = INVALID_GPA;
  /** Notifier invalidations between start() and end() (mn_active_invalidate_count). */
  mnActiveInvalidateCount = 0;

  /** The published memslots (kvm->memslots, RCU). */
  memslots: Memslots;
  /**
   * A VMM changes the memslots in this world: only then can a lookup race with
   * a swap, and only then is each lookup an event (memslotLookup), so that a
   * counterexample shows which slot a fault found before its seq snapshot.
   */
  memslotsChange = false;
  /** Dirty logging of the one memslot a scenario logs (host.dirtyLog), or null: then no path pays for it. */
  dirtyLog: DirtyLog | null = null;
  /**
   * How a guest's walk of the SPTEs touches them, as its step announces it: a
   * read, or where reclaim ages pages a write too (the walk sets the leaf's
   * Accessed bit, which kvm_age_gfn reads and clears).
   */
  spteWalk: typeof READ | typeof WRITE = READ;
  /**
   * Whether host operations take the folio lock (HostMm.folioTrylock): only where
   * reclaim ages pages, whose aging holds it across folio_referenced (the race it
   * is there for: a migration's invalidation inside the aging). Elsewhere the steps
   * taking it are left out, so that no world without aging pays for them: two host
   * operations on one page there run side by side, as before (more interleavings
   * than the kernel's folio lock allows, none fewer).
   */
  folioLocking = false;
  /** The shadow MMU's generation, 0 or 1 (kvm->arch.mmu_valid_gen). */
  mmuValidGen = 0;
  readonly host = new HostMm();
  readonly vcpus: Vcpu[] = [];
  mmu!: MmuBackend;

  // object ids announced at yield points
  /** mmu_invalidate_in_progress and the range, read locklessly by the pre-check. */
  readonly objInvalidate: number;
  /** mmu_invalidate_seq, read locklessly by the faults' snapshots and the pre-check. */
  readonly objInvalidateSeq: number;
  /** The memslots pointer. */
  readonly objMemslots: number;
  /**
   * mn_active_invalidate_count, as its starts see it: a start's increment is a
   * SHARED update, an end reads it (a start between two ends decides which of
   * them reaches zero), the memslot updater's test under mn_invalidate_lock writes it.
   */
  readonly objMnActive: number;
  /** mn_active_invalidate_count, as its ends see it: an end's decrement is a SHARED update (ends commute with ends). */
  readonly objMnActiveEnds: number;
  /** Roots, their invalid bits and mmu_valid_gen. */
  readonly objRoots: number;
  /** A gfn's SPTEs, across roots. */
  readonly objSpte: (gfn: number) => number;
  /** A host PTE. */
  readonly objHostPte: (hvaPage: number) => number;
  /** The host's page locks / migration entries on ranges it is changing. */
  readonly objHostPageLocks: number;
  /**
   * Which host pages are mapped, and the allocator: every step that maps, unmaps
   * or replaces a host page touches it (the order of allocations names the pfns),
   * and a step that looks over a range for its mapped pages reads it.
   */
  readonly objHostPages: number;

  private readonly sinks: Sink[] = [];
  /** The stamp of the event being published (see EventStamp). */
  private readonly stamp: EventStamp = { ts: 0, step: 0, tid: -1 };
  /** Which sinks read each event kind (shared with other Kvms that have the same kinds of sinks). */
  private routes: Routes = routesFor([]);

  constructor(
    readonly rt: Runtime,
    readonly settings: Readonly<Settings>,
    readonly costs: Readonly<Costs>,
    readonly mutation: Mutation,
    memslots: Memslots,
  ) {
    this.mmuLock = new RwLock(rt, 'mmu_lock');
    this.mmuLock.acquireNs = costs.lockAcquireNs;
    this.mmuLock.handoverNs = costs.lockHandoverNs;
    this.mmuLock.timesliceNs = costs.timesliceNs;
    this.slotsLock = new RwLock(rt, 'slots_lock');
    this.srcu = new Srcu(rt, 'kvm->srcu');
    this.mnMemslotsUpdateWait = new WaitQueue(rt, 'mn_memslots_update_rcuwait');
    this.ipiAckWait = new WaitQueue(rt, 'IPI acknowledgement');
    this.hostPageWait = new WaitQueue(rt, 'host page lock');
    this.memslots = memslots;
    this.objInvalidate = rt.objects.id('mmu_invalidate');
    this.objMemslots = rt.objects.id('memslots');
    this.objMnActive = rt.objects.id('mn_active_invalidate_count');
    this.objRoots = rt.objects.id('roots');
    this.objSpte = rt.objects.family('spte', FAMILY_BUCKETS);
    this.objHostPte = rt.objects.family('host_pte', FAMILY_BUCKETS);
    this.objHostPageLocks = rt.objects.id('host page locks');
    this.objHostPages = rt.objects.id('host pages');
    this.objInvalidateSeq = rt.objects.id('mmu_invalidate_seq');
    this.objMnActiveEnds = rt.objects.id('mn_active_invalidate_count (ends)');
  }

  subscribe(sink: Sink): void {
    this.sinks.push(sink);
    this.routes = routesWith(this.routes, sink);
    // Where a mutant that leaves something out acted, a line of its own (MutantSpec.shown).
    const m = this.mutation;
    const what = m.shown;
    if (what !== undefined && m.name !== null) {
      const mutant = m.name;
      m.onAct = this.listens('mutantActed') ? (said) => this.emit({ e: 'mutantActed', mutant, what: said?.() ?? what }) : null;
    }
  }

  /**
   * Whether some sink reads events of kind `e`: an event that costs something
   * to build (a copy of a vCPU's roots) is built only then. The checker's
   * exploring instances (oracle and progress only) and the simulator read
   * few kinds; the step log and the trace exporters read them all.
   */
  listens(e: KvmEvent['e']): boolean {
    return (this.routes.get(e) ?? route(this.routes, this.sinks, e)).length > 0;
  }

  /** Publishes an event to every sink that reads its kind, with the time, step and thread. */
  emit(ev: KvmEvent): void {
    const sinks = this.sinks;
    const r = this.routes.get(ev.e) ?? route(this.routes, sinks, ev.e);
    if (r.length === 0) return;
    const at = this.stamp;
    at.ts = this.rt.now();
    at.step = this.rt.steps;
    at.tid = this.rt.current?.id ?? -1;
    for (let i = 0; i < r.length; i++) sinks[r[i]!]!.on(ev, at);
  }

  /** Returns the page tables' memory for the next instance; this one must not run again. */
  dispose(): void {
    this.mmu.dispose?.();
    this.host.dispose();
  }

  /** Whether mmu_lock holders yield when contended (rwlock_needbreak on this kernel). */
  get yieldOnContention(): boolean {
    return this.settings.preemptible;
  }

  /** A sleep of `ns` (host think time, hold time): one step that touches nothing shared. */
  *sleep(ns: number): Task {
    this.rt.charge(ns);
    yield OP_LOCAL;
  }

  /** The op of kvm_mmu_invalidate_begin and _range_add: the count and the range, not the seq. */
  get opInvalidateWrite(): number {
    return opWrite(this.objInvalidate);
  }

  /** The op of kvm_mmu_invalidate_end: the seq and the count. */
  get opInvalidateEnd(): number {
    return op2(WRITE, this.objInvalidate, this.objInvalidateSeq);
  }

  /** The op of a lockless read of the count, the range and the seq (the pre-check). */
  get opInvalidateRead(): number {
    return op2(READ, this.objInvalidate, this.objInvalidateSeq);
  }
}
