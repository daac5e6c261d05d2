import { opRead } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import { hvaToPfn } from './gup.js';
import { mmuInvalidateRetryGfn } from './invalidate.js';
import { APIC_ACCESS_GFN, APIC_ACCESS_PAGE_PRIVATE_MEMSLOT, gfnToHva, KVM_MEMSLOT_INVALID, slotFound } from './memslots.js';
import { KVM_REQ_APIC_PAGE_RELOAD } from './requests.js';
import type { Vcpu } from './vcpu.js';
import { kvmMakeRequest } from './vcpu-requests.js';

/**
 * @kernel x86.c kvm_vcpu_reload_apic_access_page → vmx.c vmx_set_apic_access_page_addr
 *
 * 'retry' (thread 004, v6.5+): snapshot the seq, look up the pfn, and under mmu_lock
 * re-request the reload if an invalidation covering the page is in progress or
 * completed since; the pending request keeps the vCPU out of the guest.
 * 'invalidate-range' (before v6.5): look up and write the pfn; correctness rests on
 * the host's post-change ->invalidate_range() callback requesting another reload.
 */
export function* kvmVcpuReloadApicAccessPage(vcpu: Vcpu): Task {
  const kvm = vcpu.kvm;
  // Race: a memslot update swapping in a set where the internal APIC slot is gone or
  // flagged INVALID (read under SRCU, as the fault path reads its slot).
  yield opRead(kvm.objMemslots);
  const slot = kvm.memslots.byId(APIC_ACCESS_PAGE_PRIVATE_MEMSLOT);
  if (kvm.memslotsChange && kvm.listens('memslotLookup')) kvm.emit({ e: 'memslotLookup', vcpu: vcpu.id, by: 'apic', gfn: APIC_ACCESS_GFN, ...slotFound(slot) });
  if (slot === undefined || slot.flags & KVM_MEMSLOT_INVALID) {
    kvm.emit({ e: 'apicReload', vcpu: vcpu.id, pfn: -1, outcome: 'no-slot' });
    return;
  }
  const gfn = APIC_ACCESS_GFN;
  const hva = gfnToHva(slot, gfn);

  // Race: an invalidation completing between the snapshot and the check (smp_rmb
  // pairs with the smp_wmb in kvm_mmu_invalidate_end).
  yield opRead(kvm.objInvalidateSeq);
  const mmuSeq = kvm.mmuInvalidateSeq;
  kvm.emit({ e: 'seqSnapshot', vcpu: vcpu.id, seq: mmuSeq });
  const { pfn, major } = yield* hvaToPfn(kvm, hva);
  vcpu.holdPage(pfn);
  kvm.rt.charge(major ? kvm.costs.gupMajorNs : kvm.costs.gupNs);
  kvm.emit({ e: 'gup', vcpu: vcpu.id, gfn, hva, pfn });

  if (kvm.settings.apicAccessPage === 'retry') {
    yield* kvm.mmuLock.readLock();
    const retry = mmuInvalidateRetryGfn(kvm, mmuSeq, gfn);
    const ignored = retry && kvm.mutation.acts('apic-reload-no-retry');
    if (kvm.listens('apicRetryCheck')) {
      kvm.emit({
        e: 'apicRetryCheck',
        vcpu: vcpu.id,
        gfn,
        retry,
        ignored,
        inProgress: kvm.mmuInvalidateInProgress,
        rangeStart: kvm.mmuInvalidateRangeStart,
        rangeEnd: kvm.mmuInvalidateRangeEnd,
        seq: kvm.mmuInvalidateSeq,
        snapshot: mmuSeq,
      });
    }
    if (retry && !ignored) {
      kvmMakeRequest(vcpu, KVM_REQ_APIC_PAGE_RELOAD);
      // The page is put before the reload goes round again.
      vcpu.putPage();
      kvm.emit({ e: 'apicReload', vcpu: vcpu.id, pfn, outcome: 'retry' });
    } else {
      setApicAccessAddr(vcpu, pfn);
    }
    yield* kvm.mmuLock.readUnlockY();
  } else {
    setApicAccessAddr(vcpu, pfn);
  }
}

function setApicAccessAddr(vcpu: Vcpu, pfn: number): void {
  vcpu.apicAccessPfn = pfn;
  // Written to the VMCS, the page is put: APIC_ACCESS_ADDR holds no reference.
  vcpu.putPage();
  vcpu.kvm.emit({ e: 'apicReload', vcpu: vcpu.id, pfn, outcome: 'set' });
}
