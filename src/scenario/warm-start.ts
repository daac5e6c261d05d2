import type { Costs } from '../kvm/costs.js';
import type { Kvm } from '../kvm/kvm.js';
import { kvmMmuPageFault } from '../kvm/page-fault.js';
import { ShadowMmu } from '../kvm/shadow-mmu.js';
import { SPTES_PER_PAGE } from '../kvm/shadow-page.js';
import type { Vcpu } from '../kvm/vcpu.js';
import { ModelBug } from '../runtime/model-bug.js';
import type { Op } from '../runtime/op.js';
import type { Workload } from './schema.js';

/**
 * The k-th page vCPU `i` touched before the run: one page in each 2 MiB region
 * of its range from gfnStart on, at a spot that differs between regions and vCPUs.
 */
export function warmGfn(w: { gfnStart: number; gfnCount: number }, i: number, k: number): number {
  const within = (k * 7 + i * 131) % SPTES_PER_PAGE;
  return w.gfnStart + ((k * SPTES_PER_PAGE + within) % w.gfnCount);
}

/** Faults replayed between two polls of the interrupt (a power of two). */
const WARM_POLL = 4096;

/** Runs a model generator to its end outside the scheduler; it must never block. */
function drive<T>(v: Vcpu, g: Generator<Op, T, void>): T {
  for (;;) {
    const r = g.next();
    if (v.thread.state !== 'runnable') throw new ModelBug(`warm start: ${v.name} blocked (${v.thread.waitingFor}); nothing else may run yet`);
    if (r.done) return r.value;
  }
}

/**
 * The guest ran before the scenario begins: each vCPU's `workload.warmPages`
 * first touches are replayed through the real fault path — root load, guest
 * tables, shadow pages, rmaps, accounting — with no other thread running and at
 * no cost in virtual time. The oracle sees it; metrics start afterwards.
 * Returns the faults replayed. `interrupted` is polled every WARM_POLL faults:
 * true leaves the warm start where it is (SIGINT, --time-limit).
 */
export function warmStart(kvm: Kvm, warm: readonly Workload[], costs: Costs, interrupted?: () => boolean): number {
  if (warm.every((w) => w.warmPages === 0)) return 0;
  const rt = kvm.rt;
  const saved = { ...costs };
  const lock = { acquire: kvm.mmuLock.acquireNs, handover: kvm.mmuLock.handoverNs };
  for (const k of Object.keys(costs) as (keyof Costs)[]) costs[k] = 0;
  kvm.mmuLock.acquireNs = 0;
  kvm.mmuLock.handoverNs = 0;
  let faults = 0;
  let stopped = false;
  try {
    kvm.vcpus.forEach((v, i) => {
      const w = warm[i]!;
      if (w.warmPages === 0 || stopped) return;
      rt.current = v.thread;
      drive(v, kvm.mmu.reloadRoot(v));
      for (let k = 0; k < w.warmPages; k++) {
        if ((faults & (WARM_POLL - 1)) === 0 && interrupted?.()) {
          stopped = true;
          break;
        }
        const gfn = warmGfn(w, i, k);
        if (kvm.mmu instanceof ShadowMmu) kvm.mmu.guestCpu(v).prefault(gfn);
        drive(v, kvmMmuPageFault(v, gfn, false));
        faults++;
      }
      rt.current = null;
    });
  } finally {
    rt.current = null;
    Object.assign(costs, saved);
    kvm.mmuLock.acquireNs = lock.acquire;
    kvm.mmuLock.handoverNs = lock.handover;
  }
  return faults;
}
