import { doubledTo, grown } from '../runtime/grow-array.js';
import { KIND_MASK, opKind2, opObject, opObject2, opWrites, SHARED, SPIN, WRITE } from '../runtime/op.js';
import { fmix } from './prefix-trace.js';
import { lowest } from './thread-mask.js';

/**
 * What the fair-spin rules have seen since each thread's last spin, as a
 * hash: per thread that has spun, the objects other threads have written (a
 * WRITE) or updated (SHARED) since. That is what decides whether the thread
 * is stuck when it next spins (SpinWatch: its iteration's objects against
 * those), and the trace of the steps does not tell it: a spin touches
 * nothing, so it commutes with every step, and a write just before or just
 * after it is the same trace. With the trace, it names the checker's state
 * where no thread yields (see DfsStrategy.seen).
 *
 * Only the sets count, not the order in which the writes came, and a thread's
 * set empties when it spins again: two schedules that differ only in where a
 * write fell against a spin the thread has since gone past are one state.
 */
export class SpinDirt {
  /** Threads that have spun in this execution. */
  private spun = 0;
  /** Per thread, per object id: bit 1 written (WRITE) by another thread since the thread's last spin, bit 2 updated (SHARED). */
  private readonly marks: Uint8Array[] = [];
  /** Per thread: the objects with a mark (to clear them at its next spin). */
  private readonly marked: number[][] = [];
  /** Per thread: the sum of its marks' mixes (two lanes). */
  private readonly sum1 = new Int32Array(32);
  private readonly sum2 = new Int32Array(32);

  /** Forgets every step: the next is the first of a new execution. */
  reset(): void {
    for (let m = this.spun; m !== 0; m &= m - 1) this.clear(lowest(m));
    this.spun = 0;
  }

  /** Adds the next step: `thread` ran a step that announced `op`. */
  step(thread: number, op: number): void {
    const k1 = op & KIND_MASK;
    if (k1 === SPIN) {
      this.clear(thread);
      this.spun |= 1 << thread;
      return;
    }
    const others = this.spun & ~(1 << thread);
    if (others === 0 || !opWrites(op)) return;
    const o2 = opObject2(op);
    for (let m = others; m !== 0; m &= m - 1) {
      const t = lowest(m);
      this.mark(t, opObject(op), k1);
      if (o2 >= 0) this.mark(t, o2, opKind2(op));
    }
  }

  /** The hash of every spun thread's marks (two lanes). */
  key1(): number {
    let h = 0;
    for (let m = this.spun; m !== 0; m &= m - 1) {
      const t = lowest(m);
      h = (h + fmix(this.sum1[t] ^ fmix(t + 0x2545f491))) >>> 0;
    }
    return h;
  }
  key2(): number {
    let h = 0;
    for (let m = this.spun; m !== 0; m &= m - 1) {
      const t = lowest(m);
      h = (h + fmix(this.sum2[t] + Math.imul(t + 1, 0x9e3779b1))) >>> 0;
    }
    return h;
  }

  private mark(t: number, o: number, kind: number): void {
    const bit = kind === WRITE ? 1 : kind === SHARED ? 2 : 0;
    if (bit === 0) return;
    let marks = this.marks[t];
    if (marks === undefined) {
      this.marks[t] = marks = new Uint8Array(64);
      this.marked[t] = [];
    }
    if (o >= marks.length) this.marks[t] = marks = grown(marks, doubledTo(marks.length, o + 1));
    const had = marks[o];
    if ((had & bit) !== 0) return;
    if (had === 0) this.marked[t].push(o);
    marks[o] = had | bit;
    const e = (o << 2) | bit;
    this.sum1[t] = (this.sum1[t] >>> 0) + fmix(e ^ 0x68e31da4);
    this.sum2[t] = (this.sum2[t] >>> 0) + fmix(e + 0x1b56c4e9);
  }

  /** Empties thread t's marks: it spun. */
  private clear(t: number): void {
    const list = this.marked[t];
    if (list !== undefined) {
      const marks = this.marks[t]!;
      for (const o of list) marks[o] = 0;
      list.length = 0;
    }
    this.sum1[t] = 0;
    this.sum2[t] = 0;
  }
}
