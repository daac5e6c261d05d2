import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Thread } from '../../src/runtime/thread.js';
import { ThreadHeap } from '../../src/simulate/thread-heap.js';

function thread(id: number, readyAt: number): Thread {
  const t = new Thread(id, `t${id}`, null as never);
  t.readyAt = readyAt;
  return t;
}

test('run queue: pushPop(t) gives what push(t) then pop() gives, and leaves the same queue (fast-check)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 20 }), (times, extra) => {
      const a = new ThreadHeap();
      const b = new ThreadHeap();
      times.forEach((at, i) => {
        a.push(thread(i, at));
        b.push(thread(i, at));
      });
      const id = times.length;
      a.push(thread(id, extra));
      const first = a.pop()!;
      const viaPushPop = b.pushPop(thread(id, extra));
      assert.deepEqual([viaPushPop.id, viaPushPop.readyAt], [first.id, first.readyAt]);
      const rest = (h: ThreadHeap) => {
        const out: [number, number][] = [];
        for (let t = h.pop(); t !== undefined; t = h.pop()) out.push([t.readyAt, t.id]);
        return out;
      };
      const ra = rest(a);
      assert.deepEqual(rest(b), ra);
      // And in (readyAt, id) order.
      for (let i = 1; i < ra.length; i++) assert.ok(ra[i - 1]![0] < ra[i]![0] || (ra[i - 1]![0] === ra[i]![0] && ra[i - 1]![1] < ra[i]![1]));
    }),
  );
});
