import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventStamp, KvmEvent } from '../../src/kvm/events.js';
import { runWith, shortScenario } from '../report/fixtures.js';

/** Every event with its thread, in order. */
class Seen {
  readonly events: { ev: KvmEvent; tid: number }[] = [];
  attach(): void {}
  on(ev: KvmEvent, at: EventStamp): void {
    this.events.push({ ev: { ...ev }, tid: at.tid });
  }
}

test('a fault looks its memslot up before its seq snapshot (kvm_mmu_do_page_fault / FNAME(page_fault) before kvm_faultin_pfn), and says what it found where memslots change', () => {
  for (const mmu of ['tdp', 'shadow'] as const) {
    const seen = new Seen();
    runWith(shortScenario('memslot-delete-mini', 1_000_000), [seen], { settings: { mmu } });
    // Per vCPU: the last lookup since its fault began, checked at each snapshot of that fault.
    const lookedUp = new Map<number, boolean>();
    let snapshots = 0;
    let invalid = 0;
    for (const { ev } of seen.events) {
      if (ev.e === 'faultBegin') lookedUp.set(ev.vcpu, false);
      if (ev.e === 'memslotLookup' && ev.by === 'fault') {
        lookedUp.set(ev.vcpu, true);
        if (ev.invalid) invalid++;
      }
      if (ev.e === 'seqSnapshot' && lookedUp.has(ev.vcpu)) {
        assert.equal(lookedUp.get(ev.vcpu), true, `${mmu}: vCPU${ev.vcpu} took its snapshot before looking its memslot up`);
        snapshots++;
      }
    }
    assert.ok(snapshots > 0, `${mmu}: no fault took a snapshot`);
    // memslot-delete-mini's faults meet the slot being deleted: the line says so.
    assert.ok(invalid > 0, `${mmu}: no lookup found the slot KVM_MEMSLOT_INVALID`);
  }
});

test('memslotLookup is an event only where a VMM changes the memslots: a world without one prints no lookup line', () => {
  const seen = new Seen();
  runWith(shortScenario('fault-vs-invalidation-mini', 1_000_000), [seen]);
  assert.ok(seen.events.some(({ ev }) => ev.e === 'seqSnapshot'));
  assert.equal(seen.events.filter(({ ev }) => ev.e === 'memslotLookup').length, 0);
});
