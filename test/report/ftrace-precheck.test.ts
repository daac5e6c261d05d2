import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FtraceSink } from '../../src/report/ftrace.js';
import { runWith, shortScenario } from './fixtures.js';

// A probe (thread 001): a run's log had 57,143 RET_PF_RETRY(precheck) lines and no line of what the
// lockless pre-check read, where the APIC-access reload's check under mmu_lock has one.
test('ftrace of a run: each RET_PF_RETRY(precheck) follows the pre-check that said retry, with what it read (in_progress, the range the gfn is in, seq, snapshot)', () => {
  const sink = new FtraceSink();
  const r = runWith(shortScenario('fault-during-invalidation', 400_000), [sink], { seed: 1 });
  const lines = [...sink.render()].join('').split('\n');
  const retries = lines.filter((l) => l.includes('ret RET_PF_RETRY(precheck)'));
  const checks = lines.filter((l) => l.includes('mmulab_mmu_invalidate_retry_gfn_unsafe:'));
  assert.equal(retries.length, r.metrics.faults.retriesBeforeLock);
  assert.ok(retries.length > 0);
  assert.equal(checks.length, retries.length, 'one check line per pre-check retry, none for the checks that go on');
  /** Per vCPU, the last pre-check line not yet followed by its fault's end. */
  const open = new Map<string, string>();
  for (const l of lines) {
    const c =
      /mmulab_mmu_invalidate_retry_gfn_unsafe: +vcpu (\d+) gfn ([0-9a-f]+)( after_gup)? in_progress (\d+)(?: range_start ([0-9a-f]+) range_end ([0-9a-f]+))? seq (\d+) snapshot (\d+) retry 1$/.exec(
        l,
      );
    if (c) {
      const [, vcpu, gfn, , inProgress, start, end, seq, snapshot] = c;
      const g = Number.parseInt(gfn!, 16);
      const inRange = Number(inProgress) > 0 && start !== undefined && g >= Number.parseInt(start, 16) && g < Number.parseInt(end!, 16);
      assert.ok(inRange || seq !== snapshot, `a retry with a reason: ${l}`);
      open.set(vcpu!, gfn!);
      continue;
    }
    const done = /mmulab_page_fault_done: vcpu (\d+) gfn ([0-9a-f]+) ret RET_PF_RETRY\(precheck\)/.exec(l);
    if (done) {
      assert.equal(open.get(done[1]!), done[2], `the retry's pre-check came first: ${l}`);
      open.delete(done[1]!);
    }
  }
});
