import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FtraceSink } from '../../src/report/ftrace.js';
import { loadScenario } from '../../src/scenario/load.js';
import { runWith } from './fixtures.js';
import { LIVELOCK_SCENARIO } from './livelock.js';

// Regression (probe of threads 000/002): a zap's lock-break line said only "kvm_mmu_zap_all drops
// mmu_lock", 10,470 times in memslot-zap-livelock, while the Perfetto instants said the pages left;
// the log could not show the lock-break zap-all's work growing (the livelock) nor the fast zap's
// shrinking (its termination, seed 002's argument).
test("ftrace's lock-break lines say the pages left to zap: growing under the lock-break zap-all, shrinking under the fast zap", () => {
  const left = (memslotFlush: 'zap-all-lockbreak' | 'zap-all-fast') => {
    const sink = new FtraceSink();
    runWith(loadScenario(LIVELOCK_SCENARIO), [sink], { seed: 1, settings: { memslotFlush } });
    return [...sink.render()]
      .join('')
      .split('\n')
      .filter((l) => l.includes('mmulab_lock_break:'))
      .map((l) => Number(/ pages_left (\d+)(?: |$)/.exec(l)?.[1]));
  };
  const all = left('zap-all-lockbreak');
  assert.ok(all.length > 10 && all.every(Number.isInteger), String(all.slice(0, 5)));
  assert.ok(all.at(-1)! >= all[0]!, `kvm_mmu_zap_all: ${all[0]} then ${all.at(-1)}`);
  const fast = left('zap-all-fast');
  assert.ok(fast.length > 10 && fast.every(Number.isInteger), String(fast.slice(0, 5)));
  for (let i = 1; i < fast.length; i++) assert.ok(fast[i]! < fast[i - 1]!, `kvm_zap_obsolete_pages: ${fast[i - 1]} then ${fast[i]}`);
});
