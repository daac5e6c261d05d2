import { op2, READ, WRITE } from '../runtime/op.js';
import type { Kvm } from './kvm.js';

/** What get_user_pages found or made behind an hva. */
export interface HostPfn {
  pfn: number;
  /** The host had no page there and allocated one. */
  major: boolean;
}

/**
 * @kernel hva_to_pfn → get_user_pages — the host page behind an hva page, as
 * both the fault path (__kvm_faultin_pfn) and the APIC-access reload
 * (gfn_to_pfn_memslot) look it up, with no KVM lock held: it waits out a
 * migration or reclaim of the page, and faults a page in when there is none.
 */
export function* hvaToPfn(kvm: Kvm, hva: number): Generator<number, HostPfn, void> {
  // Race: the host changing this PTE (reclaim, migration) while we look it up;
  // the caller's seq snapshot, taken before, is what makes a stale pfn harmless.
  const gupOp = op2(READ, kvm.objHostPte(hva), kvm.objHostPageLocks);
  yield gupOp;
  // A page the host is migrating or reclaiming: wait for it, as the host fault
  // behind get_user_pages would (migration_entry_wait, the page lock).
  if (kvm.host.isBusy(hva)) yield* kvm.hostPageWait.waitUntil(() => !kvm.host.isBusy(hva), gupOp);
  const pfn = kvm.host.lookup(hva);
  if (pfn >= 0) return { pfn, major: false };
  // No page there: the host's fault handler allocates one. Race: another fault on
  // the same page (whoever comes first allocates), and any other allocation (the
  // order of allocations names the pfns).
  yield op2(WRITE, kvm.objHostPte(hva), kvm.objHostPages);
  return kvm.host.faultIn(hva);
}
