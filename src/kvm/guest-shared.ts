import type { GuestKernel, GuestProcess, PageTableAllocator } from './guest-paging.js';

/**
 * The guest's processes when their threads run on every vCPU
 * (workload.sharedProcesses): one run list and one page-table allocator for the
 * whole guest, and for each process the vCPUs that still run a thread of it
 * (mm_users). vCPUs that load one process's PGD share its shadow root
 * (kvm_mmu_get_shadow_page finds it, root_count counts each), so its exit zaps
 * a root other vCPUs have current or cached (thread 003).
 *
 * A thread exits on its vCPU's exit timer; the vCPU then switches to another
 * process it runs a thread of. The last thread out drops the mm: exit_mmap, the
 * tables freed, a process forked into the slot with a thread on every vCPU,
 * which the other vCPUs see once its PGD is zeroed. A vCPU whose only thread
 * exits gets a thread of a younger process (youngerSlot); with none, the exit
 * waits, so each vCPU always has one to run and processes keep exiting.
 *
 * Every vCPU's guest kernel reads and writes this, so a vCPU touches it only in
 * a step that announces `obj` (GuestCpu.tick asks for one).
 */
export class SharedProcesses {
  /** The run list: slot k's process. */
  readonly processes: GuestProcess[] = [];
  constructor(
    kernel: GuestKernel,
    count: number,
    /** Where every process's page-table pages come from. */
    readonly alloc: PageTableAllocator,
    /** vCPU ids: a new process has a thread on each. */
    private readonly vcpus: number,
    /** Object id of the guest's shared process state, for the checker. */
    readonly obj: number,
  ) {
    for (let i = 0; i < count; i++) this.processes.push(this.fork(kernel).proc);
  }

  /** fork (and the threads it spawns): a process with a fresh PGD and a thread on every vCPU. */
  fork(kernel: GuestKernel): { proc: GuestProcess; recycled: boolean } {
    const r = kernel.newProcess(this.alloc);
    for (let id = 0; id < this.vcpus; id++) r.proc.threads.add(id);
    return r;
  }

  /**
   * The slot of the youngest live process forked after `p`, for a vCPU whose only
   * thread, of `p`, exits: or −1. Only a younger process takes a thread on, so
   * the oldest only ever loses threads and dies out: processes keep exiting.
   * (Taking a thread of any other, two processes can hand a thread back and
   * forth between vCPUs for ever, neither dying.)
   */
  youngerSlot(p: GuestProcess): number {
    let best = -1;
    for (let s = 0; s < this.processes.length; s++) {
      const q = this.processes[s]!;
      if (q.exited || q.threads.size === 0 || q.pid <= p.pid) continue;
      if (best < 0 || q.pid > this.processes[best]!.pid) best = s;
    }
    return best;
  }

  /** The first slot after `slot` (wrapping, `slot` excluded) whose process runs a thread on vCPU `vcpuId`, or −1. */
  nextSlotFor(vcpuId: number, slot: number): number {
    const n = this.processes.length;
    for (let k = 1; k < n; k++) {
      const s = (slot + k) % n;
      if (this.processes[s]!.threads.has(vcpuId)) return s;
    }
    return -1;
  }
}
