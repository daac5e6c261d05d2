import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { HappensBefore, type RaceSink } from '../../src/check/hb.js';
import { OP_LOCAL, opPair, opRead, opShared, opWrite, READ, SHARED, WRITE } from '../../src/runtime/op.js';

const THREADS = 4;

/** One step: its thread, its op, and whether the step before it woke its thread. */
const step = fc.record({
  thread: fc.nat({ max: THREADS - 1 }),
  kind: fc.constantFrom(READ, WRITE, SHARED, -1),
  obj: fc.nat({ max: 4 }),
  second: fc.option(fc.record({ kind: fc.constantFrom(READ, WRITE, SHARED), obj: fc.nat({ max: 4 }) }), { nil: null }),
  woken: fc.boolean(),
});
type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

function opOf(s: Step): number {
  if (s.kind === -1) return OP_LOCAL;
  if (s.second !== null && s.second.obj !== s.obj) return opPair(s.kind, s.obj, s.second.kind, s.second.obj);
  return s.kind === READ ? opRead(s.obj) : s.kind === WRITE ? opWrite(s.obj) : opShared(s.obj);
}

/** Records `steps` from step `from` on, returning the races reported, with the wakeup sequence of each. */
function recordAll(hb: HappensBefore, steps: Step[], from: number): string[] {
  const races: string[] = [];
  const sink: RaceSink = {
    race(e, initials, p, j) {
      races.push(`${e}<${j} p${p} init${initials} v${hb.notdep(e, j).join(',')}`);
    },
  };
  for (let j = from; j < steps.length; j++) {
    const s = steps[j];
    const enabler = s.woken && j > 0 && j - 1 > hb.lastStep[s.thread] ? j - 1 : -1;
    hb.record(j, s.thread, opOf(s), enabler, THREADS, sink);
  }
  return races;
}

test('happens-before: rolled back to a step and recorded on, it reports what a fresh tracker reports (fast-check seed 77)', () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), fc.array(step, { maxLength: 60 }), fc.array(step, { maxLength: 60 }), (prefix, first, second) => {
      const rolled = new HappensBefore();
      recordAll(rolled, [...prefix, ...first], 0);
      rolled.rollBack(prefix.length);
      assert.equal(rolled.steps, prefix.length);
      const after = recordAll(rolled, [...prefix, ...second], prefix.length);

      const fresh = new HappensBefore();
      const all = recordAll(fresh, [...prefix, ...second], 0);
      // The fresh tracker's races of the steps after the prefix are the rolled-back one's.
      const tail = all.filter((r) => Number(r.split('<')[1].split(' ')[0]) >= prefix.length);
      assert.deepEqual(after, tail);
      assert.deepEqual([...rolled.lastStep], [...fresh.lastStep]);
    }),
    { seed: 77, numRuns: 1500 },
  );
});

test('happens-before: a reset tracker is a fresh one, and a step out of order is refused', () => {
  const hb = new HappensBefore();
  const sink: RaceSink = { race() {} };
  hb.record(0, 0, opWrite(1), -1, 2, sink);
  hb.record(1, 1, opWrite(1), -1, 2, sink);
  hb.reset();
  assert.equal(hb.steps, 0);
  assert.deepEqual([...hb.lastStep.slice(0, 2)], [-1, -1]);
  assert.throws(() => hb.record(1, 0, opRead(1), -1, 2, sink), /step 1 recorded after 0 steps/);
});
