import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventStamp } from '../../src/kvm/events.js';
import { LockBreakRecorder } from '../../src/report/lock-breaks.js';

// Probe (helper-115): memslot-zap-livelock's 10,023 breaks were thinned to every 6th for the chart of the zapper's
// time without mmu_lock, which then peaked at 8µs while the JSON's longest break was 34.9µs.
test("past 2,000 breaks the chart of the zapper's waits keeps each run's longest: its peak is the longest break", () => {
  const rec = new LockBreakRecorder();
  const at = (ts: number): EventStamp => ({ ts, step: ts, tid: 0 });
  rec.on({ e: 'zapAllBegin', how: 'kvm_mmu_zap_all_fast', pages: 100_000 }, at(0));
  for (let i = 1; i <= 10_000; i++) {
    rec.on({ e: 'lockBreak', holder: 'kvm_zap_obsolete_pages', left: 100_000 - 10 * i, others: 1, offNs: i === 4_243 ? 34_920 : 1_000 }, at(i * 5_000));
  }
  const s = rec.finish(null, []);
  assert.ok(s.retake.offNs.length <= 2_000, String(s.retake.offNs.length));
  assert.equal(Math.max(...s.retake.offNs), 34_920);
  assert.equal(s.retake.timesNs[s.retake.offNs.indexOf(34_920)], 4_243 * 5_000);
  assert.ok(s.left!.pages.length <= 2_001);
  assert.equal(s.left!.pages.at(-1), 0);
  assert.equal(s.breaks, 10_000);
});
