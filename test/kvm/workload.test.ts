import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventStamp, KvmEvent } from '../../src/kvm/events.js';
import { parseScenario } from '../../src/scenario/load.js';
import { runWith } from '../report/fixtures.js';

test('workload: a sequential pattern over gfns the vCPU count does not divide starts each vCPU on a whole gfn (it faulted on gfn 0x155.555…)', () => {
  const s = parseScenario(
    'vm: { vcpus: 3, apicAccessPage: false, memslots: [{ id: 0, baseGfn: 0, pages: 1024 }] }\nworkload: { pattern: sequential, gfnStart: 0, gfnCount: 1024, accesses: 4 }\nstop: { timeNs: 1000000 }\n',
    'seq.yaml',
  );
  const firstFault = new Map<number, number>();
  const gfns: number[] = [];
  runWith(s, [
    {
      kinds: ['faultBegin'],
      attach() {},
      on(ev: KvmEvent, _at: EventStamp) {
        if (ev.e !== 'faultBegin') return;
        gfns.push(ev.gfn);
        if (!firstFault.has(ev.vcpu)) firstFault.set(ev.vcpu, ev.gfn);
      },
    },
  ]);
  assert.ok(gfns.length > 0 && gfns.every(Number.isInteger), `fault gfns: ${gfns.join(', ')}`);
  // vCPU i starts at floor(i * 1024 / 3).
  assert.deepEqual(
    [...firstFault].sort((a, b) => a[0] - b[0]),
    [
      [0, 0],
      [1, 341],
      [2, 682],
    ],
  );
});
