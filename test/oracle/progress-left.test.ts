import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventStamp, KvmEvent } from '../../src/kvm/events.js';
import { ProgressMonitor } from '../../src/oracle/progress.js';

const at = (ts: number, tid = 7): EventStamp => ({ ts, step: ts, tid });

test("progress: a zap-all's pages left reaching a new low is progress of what its thread awaits (the memslot update); more pages left is not", () => {
  const p = new ProgressMonitor();
  const feed = (ev: KvmEvent, ts: number, tid?: number) => p.on(ev, at(ts, tid));
  feed({ e: 'memslotChange', slot: 1, op: 'delete', phase: 'begin' }, 0);
  feed({ e: 'zapAllBegin', how: 'kvm_mmu_zap_all_fast', pages: 100 }, 10);
  assert.deepEqual(p.oldest(50), { what: 'memslot 1 delete', ageNs: 50, pendingNs: 50 });
  feed({ e: 'lockBreak', holder: 'kvm_zap_obsolete_pages', left: 90 }, 60);
  assert.deepEqual(p.oldest(100), { what: 'memslot 1 delete', ageNs: 40, pendingNs: 100 });
  // More pages left than its low: no progress (the lock-break zap-all as vCPUs add pages).
  feed({ e: 'lockBreak', holder: 'kvm_mmu_zap_all', left: 95 }, 80);
  assert.equal(p.oldest(100)!.ageNs, 40);
  // Another thread's lock break is not this work's progress; one without a count neither.
  feed({ e: 'lockBreak', holder: 'kvm_zap_obsolete_pages', left: 1 }, 90, 8);
  feed({ e: 'lockBreak', holder: 'tdp_mmu_zap_leafs' }, 95);
  assert.equal(p.oldest(100)!.ageNs, 40);
  feed({ e: 'zapAllEnd', how: 'kvm_mmu_zap_all_fast', durationNs: 100 }, 110);
  feed({ e: 'memslotChange', slot: 1, op: 'delete', phase: 'done' }, 120);
  assert.equal(p.oldest(130), null);
});

test('progress: each page the fast zap zaps is progress, with or without a lock break (zapBatchPages above the world never breaks); the lock-break zap-all zapping pages is not', () => {
  const p = new ProgressMonitor();
  const feed = (ev: KvmEvent, ts: number, tid?: number) => p.on(ev, at(ts, tid));
  const zap = { e: 'spZap', sp: 3, gfn: 0x10, level: 1, root: false, gen: 0, direct: false } as const;
  feed({ e: 'memslotChange', slot: 1, op: 'delete', phase: 'begin' }, 0);
  feed({ e: 'zapAllBegin', how: 'kvm_mmu_zap_all_fast', pages: 100 }, 10);
  feed(zap, 70);
  assert.equal(p.oldest(100)!.ageNs, 30);
  // Another thread's zap (a vCPU's write flooding) is not the fast zap's progress.
  feed(zap, 90, 8);
  assert.equal(p.oldest(100)!.ageNs, 30);
  feed({ e: 'zapAllEnd', how: 'kvm_mmu_zap_all_fast', durationNs: 100 }, 110);
  feed({ e: 'memslotChange', slot: 1, op: 'delete', phase: 'done' }, 120);
  // The lock-break zap-all (thread 000) zaps all along while vCPUs add pages: only a new low of pages left counts.
  feed({ e: 'memslotChange', slot: 1, op: 'delete', phase: 'begin' }, 200);
  feed({ e: 'zapAllBegin', how: 'kvm_mmu_zap_all (lock-break)', pages: 100 }, 210);
  feed(zap, 270);
  assert.equal(p.oldest(300)!.ageNs, 100);
});
