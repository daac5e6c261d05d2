import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventStamp, KvmEvent } from '../../src/kvm/events.js';
import type { KvmInstance } from '../../src/scenario/instantiate.js';
import { parseScenario } from '../../src/scenario/load.js';
import { runWith } from '../report/fixtures.js';

test('guest RAM: invalidations of a memslot created later, and of it once moved, run on its host range (they were skipped: the host threads knew only the memslots at the start)', () => {
  const s = parseScenario(
    `vm: { vcpus: 1, memslots: [{ id: 0, baseGfn: 0, pages: 64 }] }
workload: { gfnCount: 64, accesses: 100 }
host:
  memslotChanges:
    - { atNs: 1000, op: create, slot: 1, baseGfn: 4096, pages: 64 }
    - { atNs: 2000, op: move, slot: 1, baseGfn: 8192 }
  invalidations:
    - { kind: reclaim, gfnStart: 4096, gfnCount: 64, rangePages: 16, count: 3, startNs: 1500, intervalNs: 1000 }
    - { kind: migrate, gfnStart: 8192, gfnCount: 64, rangePages: 16, count: 2, startNs: 5000, intervalNs: 1000 }
stop: { timeNs: 1000000 }
`,
    'created.yaml',
  );
  let inst: KvmInstance | undefined;
  const ranges: [number, number][] = [];
  const r = runWith(s, [
    {
      kinds: ['invalidateRangeStart'],
      attach(i: KvmInstance) {
        inst = i;
      },
      on(ev: KvmEvent, _at: EventStamp) {
        if (ev.e === 'invalidateRangeStart') ranges.push([ev.hvaStart, ev.hvaEnd]);
      },
    },
  ]);
  // The memslot at the end: created, then moved (a move keeps its host range).
  const slot = inst!.kvm.memslots.byId(1)!;
  assert.equal(slot.baseGfn, 8192);
  const created = slot.hvaPage;
  assert.equal(r.metrics.invalidations.started, 5);
  assert.equal(r.metrics.invalidations.completed, 5);
  for (const [start, end] of ranges)
    assert.ok(start >= created && end <= created + 64 && end - start === 16, `[${start}, ${end}) within [${created}, ${created + 64})`);
});
