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

// helper-103's probe: one VMA behind several memslots (RAM below and above 4 GiB) is one
// host range to the notifier, which handles every memslot it meets; a scenario could not
// say so, and was told that memslots' host ranges are apart, which its hvaPages were not.
test('guest RAM: an invalidation over two memslots whose host ranges follow on is one host range: one begin/end, a range_add for each memslot', () => {
  const text = (
    hva1: string,
  ) => `vm: { vcpus: 1, memslots: [{ id: 0, baseGfn: 0, pages: 16, hvaPage: 0x7f0000000 }, { id: 1, baseGfn: 16, pages: 16, hvaPage: ${hva1} }] }
workload: { pattern: sequential, gfnCount: 32, accessIntervalNs: 300 }
host:
  populatePages: 32
  invalidations:
    - { kind: migrate, count: 1, startNs: 30000, rangePages: 16, gfnStart: 8, gfnCount: 16 }
stop: { timeNs: 60000 }
`;
  const seen: KvmEvent[] = [];
  const r = runWith(parseScenario(text('0x7f0000010'), 'one-vma.yaml'), [
    {
      attach() {},
      on(ev: KvmEvent, _at: EventStamp) {
        if (ev.e === 'invalidateRangeStart' || ev.e === 'invalidateBegin' || ev.e === 'invalidateRangeAdd' || ev.e === 'invalidateEnd') seen.push({ ...ev });
      },
    },
  ]);
  assert.equal(r.metrics.invalidations.started, 1);
  assert.deepEqual(
    seen.map((e) =>
      e.e === 'invalidateRangeStart'
        ? `start ${e.hvaStart - 0x7f0000000}-${e.hvaEnd - 0x7f0000000}`
        : e.e === 'invalidateRangeAdd'
          ? `add ${e.start}-${e.end}`
          : e.e,
    ),
    ['start 8-24', 'invalidateBegin', 'add 8-16', 'add 8-24', 'invalidateEnd'],
  );
  // Host ranges apart (the slots' hvaPages do not follow on): refused, and said why.
  assert.throws(
    () => parseScenario(text('0x7f0000400'), 'apart.yaml'),
    /gfns \[0x8, 0x18\) cross memslot 0 \[0x0, 0x10\) \(host pages \[0x7f0000000, 0x7f0000010\)\) and memslot 1 \[0x10, 0x20\) \(host pages \[0x7f0000400, 0x7f0000410\)\), whose host ranges do not follow on: one invalidation is one host range; expected one entry per memslot, or memslots whose hvaPage ranges follow on as their gfns do/,
  );
});
