import { modelAssert } from '../runtime/model-bug.js';
import { InputError } from '../scenario/input-error.js';
import type { SharedProcesses } from './guest-shared.js';
import { pagesPerEntry } from './shadow-page.js';
import type { Vcpu } from './vcpu.js';

/**
 * The guest side of shadow paging: a 64-bit guest kernel's processes and their
 * 4-level page tables, which live in guest memory. Guest-virtual pages map to the
 * guest frame of the same number (user data below USER_TOP, the kernel's direct
 * map of its page-table pages above), so a vCPU's access stream stays a stream of
 * gfns; what differs per process is which guest frames hold its page tables.
 *
 * What the guest kernel does that KVM sees: loading CR3 (intercepted), and writing
 * page-table pages — clearing a dying process's PGD entries (exit_mmap), and
 * zeroing a recycled page before using it as a table — which trap when KVM
 * write-protects them because some shadow page shadows them. Filling entries of
 * live tables is not modelled: tables appear populated when first used (with
 * shared processes, a recycled one only once zeroed: other vCPUs walk them).
 */

/** Guest-virtual (= guest-physical) pages below this are user space: PGD entry 0, per process. */
export const USER_TOP = 2 ** 27;
/** Default start of the guest's page-table pages: the kernel half, mapped by tables every process shares. */
export const PT_BASE = 2 ** 27;
/** Frames at PT_BASE the guest kernel keeps for its own tables (init_mm's PGD, the shared kernel tables). */
export const KERNEL_PT_GFNS = 1024;
/** Writes the guest makes to a page table it clears or recycles: enough for KVM's write-flooding detection. */
export const TABLE_REWRITE_WRITES = 3;

/** How a vCPU's guest kernel schedules processes. */
export interface GuestCpuSpec {
  /** Processes the vCPU runs in turn (at least one). */
  processes: number;
  /** Switch to the next process every this many ns (0: never). */
  processSwitchNs: number;
  /** The running process exits and a new one takes its place every this many ns (0: never). */
  processExitNs: number;
  /** The running process unmaps the user page the vCPU touched last every this many ns (0: never). */
  munmapNs: number;
  /** How the munmap flushes the TLB: a CR3 reload, or a one-page INVLPG of the gva (workload.munmapFlush). */
  munmapFlush: MunmapFlush;
  /** The vCPU's processes take their page-table pages from [pageTableGfnStart, + pageTableGfns). */
  pageTableGfnStart: number;
  pageTableGfns: number;
  /** The scenario field pageTableGfns comes from (workload.pageTableGfns, or vcpuWorkloads[i]'s), for the message when they run out. */
  pageTableGfnsField: string;
  /** Where in the switch and exit periods this vCPU starts, in [0, 1), so vCPUs do not act in lockstep. */
  phase: number;
  /** The vCPUs run threads of the same processes (guest-shared.ts): one run list and allocator for the guest. */
  sharedProcesses: boolean;
}

/** How a munmap flushes the page it unmapped from the TLB (workload.munmapFlush). */
export type MunmapFlush =
  /** reload CR3 (a flush of the whole address space, as Linux does for a range above tlb_single_page_flush_ceiling) */
  | 'cr3'
  /** INVLPG of the one gva (flush_tlb_one_user), intercepted under shadow paging */
  | 'invlpg';

/** Which table (level 3, 2 or 1) translates gva, as a key: the tables of one level are one per prefix. */
function tableKey(level: number, gva: number): number {
  return Math.floor(gva / pagesPerEntry(level + 1)) * 4 + level;
}

/** A guest process: its PGD (the CR3 value) and its lower user-space page tables. */
export class GuestProcess {
  /** Lower tables by tableKey → the gfn of the page holding it. */
  readonly tables = new Map<number, number>();
  /** exit_mmap ran and its tables were freed. */
  exited = false;
  /** sharedProcesses: the vCPUs that run a thread of it (mm_users); the last to leave drops the mm. */
  readonly threads = new Set<number>();
  /** User pages (gva = gfn) whose PTE the process cleared (munmap) and has not set again: a walk of them finds nothing. */
  readonly unmapped = new Set<number>();
  constructor(
    /** Process id, for logs. */
    readonly pid: number,
    /** The gfn of its top-level table: what the guest loads into CR3. */
    readonly pgd: number,
  ) {}
}

/** The guest's page allocator for page-table pages: a bump region and a LIFO of freed pages (per-CPU lists reuse hot pages first). */
export class PageTableAllocator {
  private next: number;
  private readonly end: number;
  /** Freed pages, reused last-in first-out. */
  readonly free: number[] = [];
  constructor(
    private readonly start: number,
    count: number,
    private readonly what: string,
    /** The scenario field that sized it, named when it runs out. */
    private readonly field = 'workload.pageTableGfns',
  ) {
    this.next = start;
    this.end = start + count;
  }

  /** A page for a new table, and whether it was used before (then it must be zeroed, and KVM may be write-protecting it). */
  alloc(): { gfn: number; recycled: boolean } {
    const r = this.free.pop();
    if (r !== undefined) return { gfn: r, recycled: true };
    // Too few pages for what the workload maps: the scenario's sizing, not a bug of the model.
    if (this.next >= this.end)
      throw new InputError(
        `${this.field}: ${this.what}, ${this.end - this.start} pages, ran out at gfn 0x${this.end.toString(16)}: expected more page-table pages for the processes and the gfns they touch (each process holds a PGD and, per level below, a table for each range of gfns it touches: one level-1 table per 512 gfns)`,
      );
    return { gfn: this.next++, recycled: false };
  }

  release(gfn: number): void {
    this.free.push(gfn);
  }
}

/** The guest kernel's memory-management state shared by all vCPUs. */
export class GuestKernel {
  /** Live processes by PGD gfn: what a walk of guest memory starting at a CR3 value finds. */
  readonly byPgd = new Map<number, GuestProcess>();
  /** The kernel half's tables, shared by every PGD, by tableKey. */
  readonly kernelTables = new Map<number, number>();
  /** init_mm: the kernel's own page tables, loaded when no process is left to run. */
  readonly initMm: GuestProcess;
  private readonly kernelAlloc = new PageTableAllocator(PT_BASE, KERNEL_PT_GFNS, 'guest kernel tables');
  private nextPid = 0;

  constructor() {
    this.initMm = this.newProcess(this.kernelAlloc).proc;
  }

  /** A process with a fresh PGD from `alloc`. */
  newProcess(alloc: PageTableAllocator): { proc: GuestProcess; recycled: boolean } {
    const { gfn, recycled } = alloc.alloc();
    const proc = new GuestProcess(this.nextPid++, gfn);
    this.byPgd.set(gfn, proc);
    return { proc, recycled };
  }

  /** The kernel half's tables for gva exist (they are never freed, so fresh pages: no zeroing KVM could see). */
  ensureKernelTables(gva: number): void {
    for (let level = 3; level >= 1; level--) {
      const k = tableKey(level, gva);
      if (!this.kernelTables.has(k)) this.kernelTables.set(k, this.kernelAlloc.alloc().gfn);
    }
  }

  /**
   * What KVM's walk of the guest page tables (FNAME(walk_addr)) reads: the gfns of
   * the tables at levels 4, 3, 2, 1 translating gva from the PGD at `pgd`, into
   * out[0..3]. False when the guest has no such translation.
   */
  walk(pgd: number, gva: number, out: number[]): boolean {
    out[0] = pgd;
    let tables: Map<number, number>;
    if (gva < USER_TOP) {
      const p = this.byPgd.get(pgd);
      if (p === undefined) return false;
      tables = p.tables;
    } else {
      tables = this.kernelTables;
    }
    for (let level = 3; level >= 1; level--) {
      const g = tables.get(tableKey(level, gva));
      if (g === undefined) return false;
      out[4 - level] = g;
    }
    return gva >= USER_TOP || !this.byPgd.get(pgd)!.unmapped.has(gva);
  }

  /** Whether the process at `pgd` has cleared the PTE of user page `gva` (munmap) and not set it again. */
  isUnmapped(pgd: number, gva: number): boolean {
    return gva < USER_TOP && this.byPgd.get(pgd)?.unmapped.has(gva) === true;
  }

  /** Whether some live process has a cleared PTE (then a level-1 table no longer maps all of its range). */
  anyUnmapped(): boolean {
    for (const p of this.byPgd.values()) if (p.unmapped.size > 0) return true;
    return false;
  }
}

/** The guest kernel's work that exits to KVM under shadow paging: a CR3 load, an INVLPG. */
export type GuestExitKind = 'cr3' | 'invlpg';

/** One step of the guest kernel's work that KVM may see. */
type GuestAction =
  /** write entry `index` of the page-table page at `gfn` (through the kernel's direct map) */
  /** entries [index, through) of the table at `gfn` (through: index + 1 when absent), one emulated write */
  | { kind: 'write'; gfn: number; index: number; through?: number }
  /** MOV CR3 to the PGD of the process in run-list slot `slot` (−1: init_mm) */
  | { kind: 'cr3'; slot: number }
  /** INVLPG of user page `gva` (munmap with munmapFlush: invlpg) */
  | { kind: 'invlpg'; gva: number }
  /** an exited process's page tables go back to the allocator */
  | { kind: 'free'; proc: GuestProcess }
  /** fork: a new process takes run-list slot `slot` */
  | { kind: 'create'; slot: number }
  /** sharedProcesses: the forked process, its PGD zeroed, goes into run-list slot `slot`, where other vCPUs see it */
  | { kind: 'publish'; slot: number; proc: GuestProcess }
  /** the PTE of user page `gva` in `proc`'s level-1 table is now clear (munmap), or set again (the #PF handler) */
  | { kind: 'unmap' | 'map'; proc: GuestProcess; gva: number }
  /** sharedProcesses: the zeroed page `gfn` becomes `proc`'s table `key` (pmd_populate and kin), unless another thread's came first */
  | { kind: 'link'; proc: GuestProcess; key: number; gfn: number };

/** A vCPU's guest-kernel state: its run list, its page-table allocator, what it is doing (vcpu.guest). */
export class GuestCpu {
  /** The processes this vCPU runs in turn (sharedProcesses: the guest's run list, skipping those it has no thread of). */
  readonly processes: GuestProcess[];
  /** The process whose PGD is in CR3 (or init_mm). */
  current: GuestProcess;
  /** Next process switch and process exit, virtual ns. */
  private nextSwitchAt: number;
  private nextExitAt: number;
  private nextMunmapAt: number;
  /** The user page the vCPU touched last (−1: none yet): what a munmap takes away. */
  private lastUserGfn = -1;
  /**
   * A switch or an exit was made: the next slice (and the next process's life)
   * is timed from the first user access after it, when the new process runs.
   * Timed from the decision instead, a slice shorter than the switch itself
   * (the CR3 exit's round trip) would leave no time to run: the vCPU would
   * only ever switch.
   */
  private clocksFromNextAccess = false;
  /** Where this vCPU's page-table pages come from. */
  readonly alloc: PageTableAllocator;
  /** Work queued for the guest kernel, done in order before user accesses resume. */
  private readonly actions: GuestAction[] = [];
  /** The user access put aside while the guest kernel writes page tables. */
  private saved: { gfn: number; write: boolean } | null = null;
  /** vcpu.accessesDone when a page-table write was made the next access (−1: none in flight). */
  private writeMark = -1;
  /** vcpu.accessesDone when the #PF handler set a PTE again: the faulting access, re-executed, comes before any munmap (−1: none). */
  private retryMark = -1;
  /** CR3 value the guest loads, waiting for KVM to handle the intercept (−1: none). */
  pendingCr3 = -1;
  /** The gva the guest's INVLPG flushes, waiting for KVM to handle the intercept (−1: none). */
  pendingInvlpg = -1;
  /** Entry index of the page-table write in flight: the offset KVM's emulator decodes from the instruction. */
  writeIndex = 0;
  /** End (exclusive) of the entries that write covers: the last write of a page's zeroing stands for the rest of clear_page. */
  writeThrough = 1;
  /** Where the guest's PTE changes are told (a note event), when someone listens. */
  note: ((text: string) => void) | null = null;
  /** PGDs whose roots KVM dropped from this vCPU on a root-zap request, so a later load of one is a rebuild. */
  readonly droppedByZap = new Set<number>();
  /** Processes that exited on this vCPU. */
  exits = 0;
  /** sharedProcesses: the tables of each process this vCPU made sure exist, by tableKey (so that it needs not look at the shared ones again). */
  private readonly knownTables = new Map<GuestProcess, Set<number>>();

  constructor(
    readonly kernel: GuestKernel,
    readonly spec: GuestCpuSpec,
    name: string,
    /** sharedProcesses: the guest's one run list (then `processes` is its array) and allocator. */
    private readonly shared: SharedProcesses | null = null,
  ) {
    if (shared !== null) {
      this.alloc = shared.alloc;
      this.processes = shared.processes;
    } else {
      this.alloc = new PageTableAllocator(spec.pageTableGfnStart, spec.pageTableGfns, `${name}'s guest page tables`, spec.pageTableGfnsField);
      this.processes = [];
      const n = Math.max(1, spec.processes);
      for (let i = 0; i < n; i++) this.processes.push(kernel.newProcess(this.alloc).proc);
    }
    // Shared: every vCPU starts on a thread of the first process, so they start on one root.
    this.current = this.processes[0]!;
    this.nextSwitchAt = spec.processSwitchNs * (1 + spec.phase);
    this.nextExitAt = spec.processExitNs * (1 + spec.phase);
    this.nextMunmapAt = spec.munmapNs * (1 + spec.phase);
  }

  /**
   * The guest kernel's work before the vCPU's next access, at virtual time `now`:
   * may make a page-table write the next access (putting the user access aside),
   * or ask for a CR3 load or an INVLPG, which exit to KVM ('cr3', 'invlpg'). Touches only this vCPU's
   * guest state; with sharedProcesses, the guest's shared process state too,
   * but only when `granted`: before its first touch of it, an ungranted tick
   * returns 'mm' having changed nothing it would redo, and the caller yields
   * (announcing SharedProcesses.obj) and ticks again, granted.
   */
  tick(v: Vcpu, now: number, granted = false): GuestExitKind | 'mm' | null {
    // The page-table write made the next access has not completed (it faulted and is retried).
    if (this.writeMark >= 0 && v.accessesDone === this.writeMark) return null;
    this.writeMark = -1;
    const shared = this.shared !== null;
    for (;;) {
      if (this.pendingCr3 >= 0) return 'cr3';
      if (this.pendingInvlpg >= 0) return 'invlpg';
      // Every action but a page-table write reads or writes the run list, the allocator or the process table;
      // a PTE cleared or set again is read by KVM's walks of the guest tables, even unshared.
      const k = this.actions[0]?.kind;
      if (!granted && k !== undefined && k !== 'write' && (shared || k === 'unmap' || k === 'map')) return 'mm';
      const a = this.actions.shift();
      if (a !== undefined) {
        switch (a.kind) {
          case 'write':
            if (this.saved === null) this.saved = { gfn: v.nextGfn, write: v.nextWrite };
            this.kernel.ensureKernelTables(a.gfn);
            v.nextGfn = a.gfn;
            v.nextWrite = true;
            this.writeIndex = a.index;
            this.writeThrough = a.through ?? a.index + 1;
            this.writeMark = v.accessesDone;
            return null;
          case 'cr3':
            this.current = a.slot < 0 ? this.kernel.initMm : this.processes[a.slot]!;
            this.pendingCr3 = this.current.pgd;
            return 'cr3';
          case 'invlpg':
            this.pendingInvlpg = a.gva;
            return 'invlpg';
          case 'free':
            this.freeTables(a.proc);
            continue;
          case 'create':
            this.createAt(a.slot);
            continue;
          case 'publish':
            this.processes[a.slot] = a.proc;
            continue;
          case 'unmap':
            a.proc.unmapped.add(a.gva);
            this.note?.(
              `guest: process ${a.proc.pid} cleared the PTE of gva 0x${a.gva.toString(16)} (munmap); the TLB flush is ${this.spec.munmapFlush === 'invlpg' ? 'an INVLPG of it' : 'a CR3 reload'}`,
            );
            continue;
          case 'map':
            a.proc.unmapped.delete(a.gva);
            this.retryMark = v.accessesDone;
            this.note?.(`guest: process ${a.proc.pid} set the PTE of gva 0x${a.gva.toString(16)} again (its #PF handler)`);
            continue;
          case 'link':
            this.link(a.proc, a.key, a.gfn);
            continue;
        }
      }
      if (this.saved !== null) {
        v.nextGfn = this.saved.gfn;
        v.nextWrite = this.saved.write;
        this.saved = null;
      }
      const s = this.spec;
      if (!this.clocksFromNextAccess && s.processExitNs > 0 && now >= this.nextExitAt) {
        if (shared && !granted) return 'mm';
        if (shared ? !this.queueThreadExit(v.id) : !this.queueExit()) {
          // No process to run after it (shared: no other live process to take a thread of): it exits later.
          this.nextExitAt = now + s.processExitNs;
          continue;
        }
        this.clocksFromNextAccess = true;
        continue;
      }
      if (!this.clocksFromNextAccess && s.processSwitchNs > 0 && this.processes.length > 1 && now >= this.nextSwitchAt) {
        if (shared && !granted) return 'mm';
        const i = this.processes.indexOf(this.current);
        const next = shared ? this.shared!.nextSlotFor(v.id, i) : (i + 1) % this.processes.length;
        if (next < 0) {
          // No thread of another process on this vCPU (shared): nothing to switch to.
          this.nextSwitchAt = now + s.processSwitchNs;
          continue;
        }
        this.clocksFromNextAccess = true;
        this.actions.push({ kind: 'cr3', slot: next });
        continue;
      }
      // Not between the #PF handler and the access it returns to: that re-executes first.
      if (!this.clocksFromNextAccess && s.munmapNs > 0 && now >= this.nextMunmapAt && v.accessesDone > this.retryMark) {
        // Shared, the process's tables are every vCPU's.
        if (shared && !granted) return 'mm';
        this.nextMunmapAt = now + s.munmapNs;
        if (this.queueMunmap()) continue;
      }
      if (shared && !granted && !this.tablesKnown(v.nextGfn)) return 'mm';
      if (this.ensureUserTables(v.nextGfn)) continue;
      this.lastUserGfn = v.nextGfn;
      if (this.clocksFromNextAccess) {
        this.clocksFromNextAccess = false;
        if (now >= this.nextExitAt) this.nextExitAt = now + s.processExitNs;
        if (now >= this.nextSwitchAt) this.nextSwitchAt = now + s.processSwitchNs;
      }
      return null;
    }
  }

  /**
   * munmap of the user page touched last: clear its PTE (a write to the level-1
   * table, which KVM sees only when the table is write-protected), then flush
   * the TLB by reloading CR3 (munmapFlush cr3: as Linux does for a range above
   * tlb_single_page_flush_ceiling) or by an INVLPG of the one page (invlpg:
   * flush_tlb_one_user, which KVM intercepts under shadow paging: kvm_mmu_invlpg,
   * shadow-invlpg.ts). The other vCPUs running the process are not sent the
   * guest's shootdown: their TLBs keep the entry until their own next flush.
   * False when there is nothing to unmap.
   */
  private queueMunmap(): boolean {
    const p = this.current;
    const gva = this.lastUserGfn;
    const slot = this.processes.indexOf(p);
    if (gva < 0 || slot < 0 || p.unmapped.has(gva)) return false;
    const table = p.tables.get(tableKey(1, gva));
    if (table === undefined) return false;
    const flush: GuestAction = this.spec.munmapFlush === 'invlpg' ? { kind: 'invlpg', gva } : { kind: 'cr3', slot };
    this.actions.push({ kind: 'write', gfn: table, index: gva % 512 }, { kind: 'unmap', proc: p, gva }, flush);
    return true;
  }

  /**
   * KVM injected a #PF for user page gva, whose PTE the process cleared: the
   * guest's fault handler sets the PTE again (a write to the level-1 table)
   * before the access is retried.
   */
  injectPageFault(gva: number): void {
    const p = this.current;
    const table = p.tables.get(tableKey(1, gva));
    modelAssert(table !== undefined && p.unmapped.has(gva), `#PF injected for gva 0x${gva.toString(16)}, which the process maps`);
    this.actions.unshift({ kind: 'write', gfn: table, index: gva % 512 }, { kind: 'map', proc: p, gva });
  }

  /** Builds the current process's tables for gva before the run starts (warm start): fresh pages only. */
  prefault(gva: number): void {
    modelAssert(!this.ensureUserTables(gva), 'warm start: a recycled page-table page');
  }

  /** KVM took the INVLPG; returns the gva it flushes. */
  takeInvlpg(): number {
    const gva = this.pendingInvlpg;
    modelAssert(gva >= 0, 'INVLPG intercept with no INVLPG pending');
    this.pendingInvlpg = -1;
    return gva;
  }

  /** KVM took the CR3 load; returns the value loaded. */
  takeCr3(): number {
    const pgd = this.pendingCr3;
    modelAssert(pgd >= 0, 'CR3 intercept with no CR3 load pending');
    this.pendingCr3 = -1;
    return pgd;
  }

  /**
   * sharedProcesses: this vCPU's thread of the running process exits. While
   * another vCPU runs a thread of it, this one switches to a process it runs a
   * thread of; when it has none, it gets a thread of the youngest process forked
   * after its own (one the process spawns, placed there by load balancing; none:
   * false, the exit waits). Without that, each vCPU could be left with one
   * thread, of a process that lives on elsewhere, and no process would exit
   * again. The last thread out drops the mm (queueExit).
   */
  private queueThreadExit(id: number): boolean {
    const p = this.current;
    const slot = this.processes.indexOf(p);
    if (slot < 0) return false;
    let next = this.shared!.nextSlotFor(id, slot);
    const last = p.threads.size === 1 && p.threads.has(id);
    if (!last && next < 0) {
      next = this.shared!.youngerSlot(p);
      if (next < 0) return false;
      const q = this.processes[next]!;
      q.threads.add(id);
      this.note?.(
        `guest: process ${p.pid}'s thread on this vCPU exits, its only one; a thread of process ${q.pid} (threads on ${q.threads.size} vCPUs) is migrated here`,
      );
    }
    p.threads.delete(id);
    this.knownTables.delete(p);
    if (last) return this.queueExit(next);
    this.actions.push({ kind: 'cr3', slot: next });
    return true;
  }

  /**
   * The running process exits: exit_mmap clears its PGD's user entries while it
   * is still loaded, the CPU switches to another process (`next`, a run-list
   * slot; −1: init_mm), the page tables are freed, and a new process is forked
   * into its place. False when there is no running process to exit.
   */
  private queueExit(next = this.processes.length > 1 ? (this.processes.indexOf(this.current) + 1) % this.processes.length : -1): boolean {
    const p = this.current;
    const slot = this.processes.indexOf(p);
    if (slot < 0) return false;
    this.exits++;
    for (let i = 0; i < TABLE_REWRITE_WRITES; i++) this.actions.push({ kind: 'write', gfn: p.pgd, index: i });
    this.actions.push({ kind: 'cr3', slot: next }, { kind: 'free', proc: p }, { kind: 'create', slot });
    if (next < 0) this.actions.push({ kind: 'cr3', slot });
    return true;
  }

  /** Frees an exited process's tables, the PGD last, so that the LIFO hands it out first. */
  private freeTables(p: GuestProcess): void {
    const lower = [...p.tables.entries()].sort((a, b) => (a[0] % 4) - (b[0] % 4) || a[0] - b[0]);
    for (const [, gfn] of lower) this.alloc.release(gfn);
    this.alloc.release(p.pgd);
    p.tables.clear();
    p.unmapped.clear();
    p.exited = true;
    if (this.kernel.byPgd.get(p.pgd) === p) this.kernel.byPgd.delete(p.pgd);
  }

  /**
   * Forks a process into run-list slot `slot`; a recycled PGD page is zeroed
   * first. Shared, the process has a thread on every vCPU, and goes into the
   * slot (where the others can switch to it) only once it is zeroed.
   */
  private createAt(slot: number): void {
    if (this.shared !== null) {
      const { proc, recycled } = this.shared.fork(this.kernel);
      this.actions.unshift(...(recycled ? rewrite(proc.pgd) : []), { kind: 'publish', slot, proc });
      return;
    }
    const { proc, recycled } = this.kernel.newProcess(this.alloc);
    this.processes[slot] = proc;
    if (recycled) this.actions.unshift(...rewrite(proc.pgd));
  }

  /** sharedProcesses: this vCPU made sure before that the current process has the tables translating gva. */
  private tablesKnown(gva: number): boolean {
    const known = this.knownTables.get(this.current);
    if (known === undefined) return false;
    for (let level = 3; level >= 1; level--) if (!known.has(tableKey(level, gva))) return false;
    return true;
  }

  /** The current process has the tables translating gva; recycled pages get zeroed first. True when writes were queued. */
  private ensureUserTables(gva: number): boolean {
    const p = this.current;
    modelAssert(p !== this.kernel.initMm, 'a user access under init_mm');
    let known: Set<number> | undefined;
    if (this.shared !== null) {
      known = this.knownTables.get(p) ?? new Set<number>();
      this.knownTables.set(p, known);
    }
    let queued = false;
    for (let level = 3; level >= 1; level--) {
      const k = tableKey(level, gva);
      if (p.tables.has(k)) {
        known?.add(k);
        continue;
      }
      const { gfn, recycled } = this.alloc.alloc();
      if (!recycled) {
        // A fresh page was never a table: no shadow page has ever looked at it.
        known?.add(k);
        p.tables.set(k, gfn);
        continue;
      }
      this.actions.push(...rewrite(gfn));
      // Shared, the other vCPUs' walks of the process's tables must not reach the
      // page before it is zeroed: the entry pointing at it is written after (the
      // ordering __pte_alloc's barrier gives). Unshared, no other walk can.
      if (known !== undefined) this.actions.push({ kind: 'link', proc: p, key: k, gfn });
      else p.tables.set(k, gfn);
      queued = true;
    }
    return queued;
  }

  /**
   * sharedProcesses: the zeroed page `gfn` becomes `p`'s table `key`. Another
   * thread of `p`, faulting on the same range, may have populated the entry
   * first; then the page goes back to the allocator, as __pte_alloc frees the
   * page it lost with. Its step announces the shared process state only: a vCPU's
   * walk reads a table after its own tick, in such a step, found it linked, and a
   * linked table stays until the process dies (`audit` of a 3-vCPU shared guest
   * recycling tables: footprints sound in 200 executions).
   */
  private link(p: GuestProcess, key: number, gfn: number): void {
    modelAssert(!p.exited, `process ${p.pid} exited with a table of it being zeroed`);
    if (p.tables.has(key)) {
      this.alloc.release(gfn);
      this.note?.(`guest: process ${p.pid}: another thread populated the level-${key % 4} table entry first; page 0x${gfn.toString(16)} goes back`);
      return;
    }
    p.tables.set(key, gfn);
    this.note?.(`guest: process ${p.pid}: level-${key % 4} table at gfn 0x${gfn.toString(16)}, zeroed, linked in`);
  }
}

/** clear_page of a recycled page-table page, as the writes KVM can see. */
function rewrite(gfn: number): GuestAction[] {
  const out: GuestAction[] = [];
  // clear_page writes every entry; the last write here stands for the rest of them, so
  // that a shadow page write flooding did not zap loses every SPTE, not the first few.
  for (let i = 0; i < TABLE_REWRITE_WRITES; i++) out.push({ kind: 'write', gfn, index: i, ...(i === TABLE_REWRITE_WRITES - 1 ? { through: 512 } : {}) });
  return out;
}
