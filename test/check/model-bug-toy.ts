/**
 * A toy model with a bug of its own, not a protocol violation: as the KVM
 * model asserts its invariants with ModelBug, this one asserts its counter,
 * and a lost update (two reads of the same value) breaks the assertion. So
 * the model throws in some interleavings only, in the middle of a step the
 * strategy chose (the last thread's last), which is what check must report
 * with a schedule that replays to the throw.
 */
import type { InstanceFactory } from '../../src/check/factory.js';
import { ModelBug } from '../../src/runtime/model-bug.js';
import { opRead, opWrite } from '../../src/runtime/op.js';
import type { Task } from '../../src/runtime/thread.js';
import { ToyInstance } from './toys.js';

/** What the toy throws with, after "ModelBug: ". */
export const TOY_BUG = 'counter lost an update';

interface State {
  inst: ToyInstance;
  n: number;
  c: number;
  fin: number;
  value: number;
  finished: number;
}

/** `n` threads increment a counter once each, read and write apart; the last to finish asserts (a ModelBug) that it is n. */
export function assertingCounter(n: number): InstanceFactory {
  return (options) => {
    const inst = new ToyInstance(options);
    const rt = inst.rt;
    const s: State = { inst, n, c: rt.objects.id('counter'), fin: rt.objects.id('finished'), value: 0, finished: 0 };
    for (let i = 0; i < n; i++) rt.spawn(`T${i}`, () => incrementer(s));
    return inst;
  };
}

function* incrementer(s: State): Task {
  yield opRead(s.c);
  const v = s.value;
  s.inst.say(`read counter=${v}`);
  yield opWrite(s.c);
  s.value = v + 1;
  s.inst.say(`write counter=${v + 1}`);
  yield opWrite(s.fin);
  if (++s.finished === s.n && s.value !== s.n) throw new ModelBug(`${TOY_BUG}: ${s.value}, expected ${s.n}`);
}
