import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DfsStrategy } from '../../src/check/dfs.js';
import { explore } from '../../src/check/explore.js';
import { PctStrategy } from '../../src/check/pct.js';
import { RandomStrategy } from '../../src/check/random.js';
import { factoryFor } from '../../src/cli/check-factory.js';
import type { KvmEvent, Sink } from '../../src/kvm/events.js';

// Races the model must let happen, and states it must not call violations,
// each as the kernel has them (../shared/kvm-semantics.md).

test('memslot swap: the test of mn_active_invalidate_count and the publish are one step, so start and end see one set of memslots (no stuck invalidation)', () => {
  // With the test a step before the publish, a start counted in between read
  // the old memslots and its end the new ones: the end found no slot, never
  // ended the invalidation, and the vCPU retried forever (pct found it in
  // 3,122 executions, dfs with bound 2 in 107,798).
  const f = factoryFor('test/fixtures/memslot-swap-vs-notifier.yaml', [], null);
  const r = explore(f, new PctStrategy(1, 3), { maxExecutions: 20_000 });
  assert.equal(r.violation, null, r.violation?.message);
  assert.equal(r.summary.executions, 20_000);
});

test('TDP: SPTEs zapped in an invalid root need no TLB flush while the vCPU must drop that root before it enters', () => {
  // kvm_mmu_zap_all_fast marks the root invalid and requests
  // KVM_REQ_MMU_FREE_OBSOLETE_ROOTS; a notifier then zaps the vCPU's page in it
  // without a flush. The vCPU loads a new root (which flushes) before it enters,
  // so its TLB entry is never used: not a violation.
  const f = factoryFor('test/fixtures/tdp-zap-fast-vs-notifier.yaml', [], null);
  const r = explore(f, new DfsStrategy({ preemptionBound: 2 }));
  assert.equal(r.violation, null, r.violation?.message);
  assert.equal(r.summary.exhausted, true);
  // The same world without the notifier's flush where one is needed is still caught.
  const m = explore(factoryFor('fault-vs-invalidation-mini', [], 'invalidate-skip-tlb-flush'), new DfsStrategy({ preemptionBound: 2 }));
  assert.equal(m.violation?.kind, 'stale-translation');
});

/** Counts vCPU events made while an invalidation has begun with no range added yet (the sentinel). */
function sentinelWatch(): { sinks: () => Sink[]; seen: () => number } {
  let seen = 0;
  return {
    seen: () => seen,
    sinks: () => {
      let sentinel = false;
      return [
        {
          on(ev: KvmEvent) {
            if (ev.e === 'invalidateBegin') sentinel = ev.inProgress === 1;
            else if (ev.e === 'invalidateRangeAdd') sentinel = false;
            else if (sentinel && 'vcpu' in ev) seen++;
          },
        },
      ];
    },
  };
}

test('invalidation: a vCPU can run between begin and the first range_add (the pre-check sees the count with the sentinel range)', () => {
  const w = sentinelWatch();
  const f = factoryFor('fault-vs-invalidation-mini', [], null, w.sinks);
  const r = explore(f, new RandomStrategy(1), { maxExecutions: 3_000, retries: 'interleaved' });
  assert.equal(r.violation, null);
  assert.ok(w.seen() > 0, 'no vCPU step between kvm_mmu_invalidate_begin and kvm_mmu_invalidate_range_add');
});

test('guest processes: a time slice shorter than the process switch itself still runs the process (the slice starts when it runs), so a vCPU with a count ends; no livelock is reported', () => {
  // Timed from the switch decision, a 1.5 µs slice ended before the ~2 µs CR3
  // round trip did: the vCPU only ever switched, made no access, never ended,
  // and pct reported a livelock in 6 executions.
  const f = factoryFor('test/fixtures/fast-process-switch.yaml', [], null);
  const r = explore(f, new PctStrategy(1, 3), { maxExecutions: 300 });
  assert.equal(r.violation, null, r.violation?.message);
  assert.equal(r.summary.executions, 300);
});

test('a livelock found by the checker names what is pending without an age: its threads keep their own clocks, and one less another gave "pending for -2000 ns"', () => {
  const f = factoryFor('fault-vs-invalidation-mini', [], 'precheck-plain-read');
  const r = explore(f, new PctStrategy(1, 3), { maxExecutions: 1000 });
  assert.equal(r.violation?.kind, 'livelock');
  assert.match(r.violation!.message, /still awaited: vCPU\d's fault on gfn 0x0 pending/);
  assert.doesNotMatch(r.violation!.message, /pending for/);
});
