import { op2, opRead, READ, WRITE } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import { REQUEST_NAMES } from './events.js';
import type { Kvm } from './kvm.js';
import { isWaitRequest, KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, KVM_REQ_MMU_RELOAD, KVM_REQ_TLB_FLUSH } from './requests.js';
import { EXITING_GUEST_MODE, IN_GUEST_MODE, type Vcpu } from './vcpu.js';

/**
 * The request that makes vCPUs let go of zapped or obsolete roots, under both
 * MMUs: KVM_REQ_MMU_FREE_OBSOLETE_ROOTS since thread 003 (v5.18), before it
 * KVM_REQ_MMU_RELOAD, which frees every root (the rootZap setting).
 */
export function rootZapRequest(kvm: Kvm): number {
  return kvm.settings.rootZap === 'reload-all' ? KVM_REQ_MMU_RELOAD : KVM_REQ_MMU_FREE_OBSOLETE_ROOTS;
}

/** vcpu->mode's values by number, as the kernel names them. */
const MODE_NAMES = ['OUTSIDE_GUEST_MODE', 'IN_GUEST_MODE', 'EXITING_GUEST_MODE'];

/** @kernel kvm_make_request — sets the bit on one vCPU; no kick (used on itself). */
export function kvmMakeRequest(vcpu: Vcpu, req: number): void {
  vcpu.requests |= 1 << req;
  vcpu.kvm.emit({ e: 'request', vcpu: vcpu.id, req, kicked: false });
}

/** @kernel kvm_check_request — tests and clears. */
export function kvmCheckRequest(vcpu: Vcpu, req: number): boolean {
  const bit = 1 << req;
  if ((vcpu.requests & bit) === 0) return false;
  vcpu.requests &= ~bit;
  vcpu.ownRequests &= ~bit;
  vcpu.kvm.emit({ e: 'requestServiced', vcpu: vcpu.id, req });
  return true;
}

/**
 * @kernel kvm_make_all_cpus_request — set the bit on every vCPU; kick the ones in
 * guest mode out (IN_GUEST_MODE → EXITING_GUEST_MODE); for WAIT requests, wait for
 * each kicked vCPU to acknowledge by leaving guest mode. Returns how many were kicked.
 */
export function* kvmMakeAllCpusRequest(kvm: Kvm, req: number): Generator<number, number, void> {
  const kicked: Vcpu[] = [];
  const targets: number[] = [];
  for (const vcpu of kvm.vcpus) {
    // Race: the vCPU's late pre-entry check. Setting the bit and reading the mode is
    // one step here, as storing the mode and reading the bits is one step there, so
    // either the vCPU sees the bit or we see it in guest mode.
    let mode = vcpu.mode;
    if (kvm.mutation.has('request-mode-read-early')) {
      // Race (the mutant's): the vCPU's entry between our read of its mode and our
      // setting of the bit, which the smp_mb between the two rules out. The
      // entry's store of the mode is announced with the request bits
      // (Vcpu.objRequests): this read of the mode reads them too.
      yield op2(READ, vcpu.obj, vcpu.objRequests);
      mode = vcpu.mode;
      // A line where the read happens: the entry that races with it comes after it in the interleaving.
      if (kvm.listens('note')) {
        kvm.emit({
          e: 'note',
          text: `kvm_make_all_cpus_request ${REQUEST_NAMES[req]}: vCPU${vcpu.id}'s mode read, ${MODE_NAMES[mode]}, before its request bit is set, no smp_mb between`,
        });
      }
    }
    yield op2(WRITE, vcpu.obj, vcpu.objRequests);
    vcpu.requests |= 1 << req;
    // A request a vCPU makes to every vCPU, itself included (the flush of its own root load).
    if (kvm.rt.current === vcpu.thread) vcpu.ownRequests |= 1 << req;
    else vcpu.ownRequests &= ~(1 << req);
    if (!kvm.mutation.has('request-mode-read-early')) mode = vcpu.mode;
    else if (mode !== vcpu.mode) {
      const was = mode;
      kvm.mutation.tookEffect(
        () =>
          `vCPU${vcpu.id}'s mode read ${MODE_NAMES[was]} before its request bit was set (the mutant has no smp_mb): it entered the guest in between, not kicked, the request unseen`,
      );
    }
    let kick = false;
    if (mode === IN_GUEST_MODE && vcpu.mode === IN_GUEST_MODE) {
      vcpu.mode = EXITING_GUEST_MODE;
      vcpu.kicks++;
      kick = true;
    } else if (vcpu.mode === EXITING_GUEST_MODE) {
      kick = true;
    }
    kvm.emit({ e: 'request', vcpu: vcpu.id, req, kicked: kick });
    if (kick) {
      kicked.push(vcpu);
      targets.push(vcpu.kicks);
    }
  }
  if (kicked.length === 0) return 0;
  kvm.rt.charge(kvm.costs.ipiSendNs);
  if (isWaitRequest(req)) {
    // Wait for the IPIs to be acknowledged (smp_call_function_many with wait), one
    // kicked vCPU after the other: each test reads one vCPU's state.
    for (let i = 0; i < kicked.length; i++) {
      const v = kicked[i]!;
      const target = targets[i]!;
      // Race: that vCPU leaving guest mode (its acknowledgement). The test reads
      // the vCPU's mode and acknowledgements, not its request bits: the vCPU's
      // servicing of its requests, once out of guest mode, commutes with it.
      yield opRead(v.obj);
      yield* kvm.ipiAckWait.waitUntil(() => v.acks >= target, opRead(v.obj));
    }
  }
  return kicked.length;
}

/**
 * @kernel kvm_flush_remote_tlbs — KVM_REQ_TLB_FLUSH to every vCPU, waiting for the
 * running ones; the vCPUs flush before their next entry.
 */
export function* kvmFlushRemoteTlbs(kvm: Kvm, reason: string): Task {
  kvm.emit({ e: 'remoteFlushBegin', reason });
  const n = yield* kvmMakeAllCpusRequest(kvm, KVM_REQ_TLB_FLUSH);
  kvm.emit({ e: 'remoteFlushEnd', reason, vcpusKicked: n });
}
