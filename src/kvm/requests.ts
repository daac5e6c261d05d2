/** Request bit numbers (the model's own numbering; names as in the kernel). */
export const KVM_REQ_TLB_FLUSH = 0;
export const KVM_REQ_MMU_FREE_OBSOLETE_ROOTS = 1;
export const KVM_REQ_APIC_PAGE_RELOAD = 2;
/** Before v5.18: unload every root (thread 003's "reload-all"). */
export const KVM_REQ_MMU_RELOAD = 3;
export const KVM_REQ_LOAD_MMU_PGD = 4;
export const KVM_REQ_MMU_SYNC = 5;
/** Flush this vCPU's TLB for its current root only (kvm_invalidate_pcid); KVM_REQ_TLB_FLUSH covers it. */
export const KVM_REQ_TLB_FLUSH_CURRENT = 6;
/** The vCPU's dirty ring is soft full: it leaves for userspace (KVM_EXIT_DIRTY_RING_FULL) instead of entering; made by the vCPU itself. */
export const KVM_REQ_DIRTY_RING_SOFT_FULL = 7;
/** The requests that flush the vCPU's TLB before it enters (the model's one TLB: current and all are the same). */
export const TLB_FLUSH_REQUESTS = (1 << KVM_REQ_TLB_FLUSH) | (1 << KVM_REQ_TLB_FLUSH_CURRENT);

/** Requests whose maker waits for every kicked vCPU to acknowledge (KVM_REQUEST_WAIT). */
export const WAIT_REQUESTS = (1 << KVM_REQ_TLB_FLUSH) | (1 << KVM_REQ_MMU_FREE_OBSOLETE_ROOTS) | (1 << KVM_REQ_APIC_PAGE_RELOAD) | (1 << KVM_REQ_MMU_RELOAD);

export function isWaitRequest(req: number): boolean {
  return (WAIT_REQUESTS & (1 << req)) !== 0;
}
