import { type KvmEvent, REQUEST_NAMES } from '../kvm/events.js';
import { KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, KVM_REQ_MMU_RELOAD } from '../kvm/requests.js';

/** The requests that make a vCPU drop roots (thread 003): a run's log has their making and servicing. */
const ROOT_REQUESTS: ReadonlySet<number> = new Set([KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, KVM_REQ_MMU_RELOAD]);

const root = (r: number) => (r < 0 ? 'none' : String(r));
const roots = (rs: readonly number[]) => (rs.length === 0 ? 'none' : rs.map(root).join(','));

/**
 * A root's life as log lines (mmulab_*: kvm_mmu_new_pgd, kvm_mmu_free_obsolete_roots,
 * the root loads, puts and frees have no tracepoint), with the requests that make a
 * vCPU drop roots, made and serviced: who frees which root, and when, reads in a
 * run's log as in a counterexample's. Null for the other events. Each line is on the
 * thread that did it (a free: the thread whose put or zap freed the root).
 */
export function rootLine(ev: KvmEvent): [string, string] | null {
  switch (ev.e) {
    case 'newPgd':
      return ['mmulab_new_pgd', `vcpu ${ev.vcpu} pgd ${ev.pgd.toString(16)} root ${root(ev.root)} prev_roots ${roots(ev.prev)}`];
    case 'freeObsoleteRoots':
      return [
        'mmulab_free_obsolete_roots',
        `vcpu ${ev.vcpu} root ${root(ev.current)} prev_roots ${roots(ev.prev)} freed ${roots(ev.freed)}${ev.kept.length > 0 ? ` kept_obsolete ${roots(ev.kept)}` : ''}`,
      ];
    case 'rootAlloc':
      return [
        'mmulab_root_alloc',
        `vcpu ${ev.vcpu} root ${ev.root}${ev.pgd !== undefined ? ` pgd ${ev.pgd.toString(16)}` : ''} after_zap ${ev.afterZap === true ? 1 : 0}`,
      ];
    case 'rootPut':
      return ['mmulab_root_put', `vcpu ${ev.vcpu} root ${ev.root} count ${ev.count}`];
    case 'rootFree':
      return ['mmulab_root_free', `root ${ev.root}`];
    case 'request':
    case 'requestServiced':
      return ROOT_REQUESTS.has(ev.req) ? requestLine(ev) : null;
    default:
      return null;
  }
}

/** A request's line, made (kvm_make_request, whether it kicked) or serviced (kvm_check_request): in a run's log for the root requests, in a replay's for all. */
export function requestLine(ev: Extract<KvmEvent, { e: 'request' | 'requestServiced' }>): [string, string] {
  return ev.e === 'request'
    ? ['mmulab_make_request', `vcpu ${ev.vcpu} req ${REQUEST_NAMES[ev.req]} kick ${ev.kicked ? 1 : 0}`]
    : ['mmulab_check_request', `vcpu ${ev.vcpu} req ${REQUEST_NAMES[ev.req]}`];
}
