import assert from 'node:assert/strict';
import { kvmMmuPageFault } from '../../src/kvm/page-fault.js';
import type { Vcpu } from '../../src/kvm/vcpu.js';
import type { Thread } from '../../src/runtime/thread.js';
import type { KvmInstance } from '../../src/scenario/instantiate.js';

/**
 * fast_page_fault's window between its cmpxchg and its mark, driven by hand:
 * `v`'s write fault on the write-protected gfn runs until `fixed` is among the
 * lines (the cmpxchg made the leaf writable, the mark still to come); then
 * `writer` writes gfn through that leaf, as its guest access reports it (the
 * line `wrote`). Returns the fault's thread, to be run on to its mark.
 */
export function fastFixThenWrite(inst: KvmInstance, lines: string[], fault: { v: Vcpu; gfn: number; fixed: string }, writer: Vcpu, wrote: string): Thread {
  const { kvm } = inst;
  const t = inst.rt.spawn(`${fault.v.name} fault`, function* () {
    assert.equal(yield* kvmMmuPageFault(fault.v, fault.gfn, true, true), 'fixed');
  });
  for (let n = 0; !lines.includes(fault.fixed); n++) {
    assert.ok(n < 1000 && t.state === 'runnable', 'the fast path never made the leaf writable');
    inst.rt.runStep(t);
  }
  const pfn = kvm.mmu.walk(writer, fault.gfn, true);
  assert.ok(pfn >= 0, 'the leaf allows the write');
  lines.push(wrote);
  kvm.emit({ e: 'guestAccess', vcpu: writer.id, gfn: fault.gfn, pfn, write: true, via: 'spte' });
  return t;
}

/** Runs thread `t` alone while it can run (to its end, or until it blocks). */
export function runOn(inst: KvmInstance, t: Thread): void {
  for (let n = 0; t.state === 'runnable'; n++) {
    assert.ok(n < 1000, `${t.name} runs on and on`);
    inst.rt.runStep(t);
  }
}

/** At the end of the run (Instance.finish), exactly one violation: `thread`'s lost-dirty-write, its message matching `message`. */
export function assertLostAtEnd(inst: KvmInstance, thread: string, message: RegExp): void {
  inst.finish();
  assert.equal(inst.violations.length, 1);
  const v = inst.violations[0]!;
  assert.equal(v.kind, 'lost-dirty-write');
  assert.equal(v.thread, thread);
  assert.match(v.message, message);
}
