import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KvmEvent, Sink } from '../../src/kvm/events.js';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/simulate/simulate.js';

/** Counts the guest's notes on the page-table pages it links into a shared process. */
class LinkNotes implements Sink {
  linked = 0;
  lost = 0;
  on(ev: KvmEvent): void {
    if (ev.e !== 'note') return;
    if (ev.text.endsWith('zeroed, linked in')) this.linked++;
    else if (ev.text.includes('another thread populated')) this.lost++;
  }
}

// Seed 5 at 2 vCPUs reported a stale translation before: vCPU1 took a recycled
// page for a lower table and put it in the process's tables before zeroing it;
// vCPU0's fault walked through it, and KVM linked the page's old shadow page
// (SPTEs of the range it translated before) under the new PMD entry. Then the
// zeroing, made unsync, dropped nothing, and vCPU0 wrote to gfn 0x1d4 through
// an SPTE for gfn 0xfd4.
test('sharedProcesses: a recycled lower table is linked into the process only once zeroed, and a thread that lost the race to populate the entry gives its page back (root-zap-on-process-exit, 2 vCPUs, seeds 5 and 4: no violation)', () => {
  for (const seed of [5, 4]) {
    const s = loadScenario('root-zap-on-process-exit');
    s.vm.vcpus = 2;
    s.workload.sharedProcesses = true;
    const notes = new LinkNotes();
    const r = simulate(s, { settings: effectiveSettings(s), mutant: null, seed, sinks: [notes] });
    assert.equal(r.modelBug, null);
    assert.deepEqual(r.violations, [], `seed ${seed}`);
    assert.ok(notes.linked > 100, `seed ${seed}: ${notes.linked} tables linked`);
    assert.ok(notes.lost > 10, `seed ${seed}: ${notes.lost} races lost`);
  }
});
