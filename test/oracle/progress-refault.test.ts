import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/simulate/simulate.js';

// A probe's finding: root-zap-on-process-exit with shared processes and a munmap
// every 50 us settled, on seed 6, into mmu_sync_children write-protecting the
// process's level-1 table again after each lock break while the other vCPUs'
// writes to it fault, get the page unsynced (RET_PF_FIXED) and are kicked out by
// the sync's flush before they retire: 34 guest accesses in 20 ms. Each fixed
// fault counted as progress, so no livelock was reported. A refault (the same
// gfn, no access retired since) now goes on awaiting the first fault's access.
// Since a CR3 write's sync is serviced by vcpu_enter_guest (KVM_REQ_MMU_SYNC, after
// the obsolete roots are freed) rather than by its exit handler, seed 6 of that
// variant no longer settles there (seeds 1 to 12: none does); a munmap every 20 us
// does, on seed 1 (it did on seed 11 until FNAME(page_fault)'s guest walk came
// first: the #PF it injects for a cleared PTE no longer pays for GUP and mmu_lock,
// 400 ns instead of 720 and a wait, which moved the timing; on seed 1 also before a
// zap took the unsync pages below the page with it, mmu_zap_unsync_children):
// vCPU5's refaults on one gfn, fixed 469 times, 5 ms without its access retiring.
// Since an IPI acknowledgement wakes only its kicker (2026-12-07), seed 1 no longer
// settles there within 12 ms; seeds 5 and 10 of 1 to 12 do (seed 5: vCPU1, gfn 0x8000411).
test('a fault fixed over and over, its access never retiring, is no progress: the simulator reports the livelock (root-zap-on-process-exit, sharedProcesses, munmapNs 20 us, seed 5, livelockNs 5 ms)', () => {
  const s = loadScenario('root-zap-on-process-exit');
  s.workload.sharedProcesses = true;
  s.workload.munmapNs = 20_000;
  s.stop = { timeNs: 12_000_000, livelockNs: 5_000_000 };
  const r = simulate(s, { settings: effectiveSettings(s), mutant: null, seed: 5 });
  assert.deepEqual(r.violations, []);
  assert.equal(r.progress.livelock, true, JSON.stringify(r.progress));
  assert.match(r.progress.stalled ?? '', /^vCPU\d's fault on gfn 0x8000411: no completion for \d+ ns/);
});
