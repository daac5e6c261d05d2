import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeSchedule, encodeSchedule } from '../../src/check/schedule-codec.js';

const schedule = fc.record({
  choices: fc.array(fc.nat({ max: 31 }), { maxLength: 300 }),
  draws: fc.array(fc.oneof(fc.nat({ max: 10 }), fc.maxSafeNat()), { maxLength: 40 }),
});

test('schedule encode/decode round-trips (fast-check seed 4242)', () => {
  fc.assert(
    fc.property(schedule, (s) => {
      const text = encodeSchedule(s);
      assert.match(text, /^[A-Za-z0-9_-]+$/);
      assert.deepEqual(decodeSchedule(text), { choices: s.choices, draws: s.draws });
    }),
    { seed: 4242, numRuns: 2000 },
  );
});

test('long runs of one thread encode compactly', () => {
  const s = { choices: [...Array(500).fill(0), ...Array(500).fill(1)], draws: [] };
  assert.ok(encodeSchedule(s).length < 16);
});

test('malformed schedule strings are refused with a reason', () => {
  assert.throws(() => decodeSchedule('not base64!'), /base64url/);
  assert.throws(() => decodeSchedule(''), /schedule string: empty/);
  const good = encodeSchedule({ choices: [0, 1, 1, 2], draws: [7] });
  assert.throws(() => decodeSchedule(good.slice(0, 3)), /truncated|trailing/);
  assert.throws(() => decodeSchedule(`${good}AA`), /trailing/);
  assert.throws(() => decodeSchedule('Ag'), /version/);
});

test('choices and draws must be non-negative integers', () => {
  assert.throws(() => encodeSchedule({ choices: [-1], draws: [] }), /choice/);
  assert.throws(() => encodeSchedule({ choices: [], draws: [1.5] }), /draw/);
});

test('a schedule of more steps than may run is refused before room is made for them (a probe: 11 characters, a run of 10^8 choices, took 2 GB)', () => {
  const long = encodeSchedule({ choices: new Array(10_001).fill(0), draws: [] });
  assert.throws(() => decodeSchedule(long, 10_000), /schedule string: more than 10000 steps, more than can run/);
  assert.equal(decodeSchedule(long, 10_001).choices.length, 10_001);
  const before = process.memoryUsage().heapUsed;
  assert.throws(() => decodeSchedule('AQEA_8HXLwA', 10_000), /more than 10000 steps/);
  assert.ok(process.memoryUsage().heapUsed - before < 50e6);
});
