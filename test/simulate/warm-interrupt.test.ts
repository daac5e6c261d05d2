import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { scenarioFromText } from '../../src/scenario/load.js';
import { simulate } from '../../src/simulate/simulate.js';

const text = (warmPages: number) => `
vm: { vcpus: 2, apicAccessPage: false, memslots: [{ id: 0, baseGfn: 0, pages: 65536 }] }
workload: { gfnStart: 0, gfnCount: 65536, warmPages: ${warmPages} }
stop: { timeNs: 100000 }
`;

test('a warm start of many pages polls the interrupt (SIGINT, --time-limit): interrupted, the run ends at once, partial, before its first step (a probe: a long warm-up ignored both)', () => {
  const s = scenarioFromText(text(65536), 'warm', 'warm.yaml');
  let polls = 0;
  const r = simulate(s, { settings: effectiveSettings(s), mutant: null, seed: 1, interrupted: () => ++polls > 3 });
  assert.equal(r.partial, true);
  assert.equal(r.simTimeNs, 0);
  assert.equal(r.metrics.guest.accesses, 0);
  // Three polls let 3 x 4096 faults through, then it stopped: far from the 131,072 asked for.
  assert.ok(polls <= 6, `${polls} polls`);
  const whole = simulate(s, { settings: effectiveSettings(s), mutant: null, seed: 1 });
  assert.equal(whole.partial, false);
  assert.equal(whole.simTimeNs, 100000);
});

test('workload.warmPages past gfnCount is refused: the warm-up would touch the same pages again for as long as asked (a probe: 2^32 ran for hours)', () => {
  assert.throws(
    () => scenarioFromText(text(65537), 'warm', 'warm.yaml'),
    /workload\.warmPages: 65537 pages touched before the run, but vCPU0's range holds 65536 \(gfnCount\): expected warmPages <= gfnCount/,
  );
});
