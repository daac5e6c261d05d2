import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Op, opRead, opWrite } from '../../src/runtime/op.js';
import { Runtime } from '../../src/runtime/runtime.js';
import type { Frame, Thread } from '../../src/runtime/thread.js';

/** Runs `t` to its end, one step at a time: the op announced before each step. */
function opsOf(rt: Runtime, t: Thread): Op[] {
  const ops: Op[] = [];
  while (t.state === 'runnable') {
    rt.runStep(t);
    if (t.state === 'runnable') ops.push(t.op);
  }
  return ops;
}

/** The same callee, called either way by a body that records what it got back. */
function* callee(log: string[], fail: boolean): Generator<Op, number, void> {
  yield opRead(1);
  log.push('callee runs');
  yield opWrite(2);
  if (fail) throw new Error('callee failed');
  return 7;
}

function* inner(log: string[], fail: boolean, viaFrame: boolean): Generator<Op | Frame, number, void> {
  yield opRead(3);
  const v: number = viaFrame ? ((yield callee(log, fail)) as unknown as number) : yield* callee(log, fail);
  log.push(`inner got ${v}`);
  return v + 1;
}

function* body(log: string[], fail: boolean, viaFrame: boolean): Generator<Op | Frame, void, void> {
  try {
    const v: number = viaFrame ? ((yield inner(log, fail, viaFrame)) as unknown as number) : yield* inner(log, fail, viaFrame);
    log.push(`body got ${v}`);
  } catch (e) {
    log.push(`body caught ${(e as Error).message}`);
    yield opWrite(4);
  }
  log.push('body ends');
}

for (const fail of [false, true]) {
  test(`runtime: a yielded Frame runs as yield* would: the same steps, ops, return values${fail ? ', and an exception thrown into its caller' : ''}`, () => {
    const runs = [false, true].map((viaFrame) => {
      const rt = new Runtime();
      const log: string[] = [];
      const t = rt.spawn('t', () => body(log, fail, viaFrame));
      const ops = opsOf(rt, t);
      return { ops, log, steps: t.steps, callers: t.callers.length };
    });
    assert.deepEqual(runs[1], runs[0]);
    assert.equal(runs[1]!.callers, 0);
    assert.deepEqual(
      runs[0]!.log,
      fail ? ['callee runs', 'body caught callee failed', 'body ends'] : ['callee runs', 'inner got 7', 'body got 8', 'body ends'],
    );
  });
}

test('runtime: an exception no Frame catches leaves the step', () => {
  const rt = new Runtime();
  function* top(): Generator<Op | Frame, void, void> {
    yield opRead(1);
    yield callee([], true);
  }
  const t = rt.spawn('t', () => top());
  for (let i = 0; i < 3; i++) rt.runStep(t);
  assert.throws(() => rt.runStep(t), /callee failed/);
});
