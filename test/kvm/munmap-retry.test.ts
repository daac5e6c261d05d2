import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventStamp, KvmEvent, Sink } from '../../src/kvm/events.js';
import { USER_TOP } from '../../src/kvm/guest-paging.js';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/simulate/simulate.js';

/** The user pages each vCPU's accesses reached. */
class UserPages implements Sink {
  readonly byThread = new Map<number, Set<number>>();
  on(ev: KvmEvent, at: EventStamp): void {
    if (ev.e !== 'guestAccess' || ev.gfn >= USER_TOP) return;
    const pages = this.byThread.get(at.tid) ?? new Set<number>();
    this.byThread.set(at.tid, pages);
    pages.add(ev.gfn);
  }
}

// A probe's finding: with a munmap every 3 us, the munmap timer fired between the
// #PF handler setting the PTE again and the faulting access it returns to, and
// took that very page again (the page touched last): each vCPU faulted on one
// page for the whole run. A thread cannot call munmap there; the access comes first.
test('munmapNs: the access a #PF handler returns to is re-executed before the next munmap, so the vCPUs move on through their pages (root-zap-on-process-exit shared, 2 vCPUs, a munmap every 3 us, 3 ms)', () => {
  const s = loadScenario('root-zap-on-process-exit');
  s.vm.vcpus = 2;
  s.workload.sharedProcesses = true;
  s.workload.processes = 2;
  s.workload.processExitNs = 0;
  s.workload.munmapNs = 3000;
  s.stop = { timeNs: 3_000_000 };
  const pages = new UserPages();
  const r = simulate(s, { settings: effectiveSettings(s), mutant: null, seed: 1, sinks: [pages] });
  assert.deepEqual(r.violations, []);
  assert.equal(pages.byThread.size, 2);
  for (const [tid, set] of pages.byThread) assert.ok(set.size > 50, `thread ${tid}: ${set.size} user pages`);
});
