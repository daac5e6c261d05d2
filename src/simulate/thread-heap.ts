import type { Thread } from '../runtime/thread.js';

/** A binary min-heap of runnable threads by (readyAt, id): the simulator's run queue. */
export class ThreadHeap {
  private readonly a: Thread[] = [];

  get size(): number {
    return this.a.length;
  }

  private less(x: Thread, y: Thread): boolean {
    return x.readyAt < y.readyAt || (x.readyAt === y.readyAt && x.id < y.id);
  }

  push(t: Thread): void {
    const a = this.a;
    let i = a.length;
    a.push(t);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(t, a[p]!)) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = t;
  }

  /**
   * Pushes `t` and pops the first thread, in one sift at most: when `t` comes
   * before every queued thread (a thread running on while it is the earliest,
   * the common case) the heap is not touched at all.
   */
  pushPop(t: Thread): Thread {
    const top = this.a[0];
    if (top === undefined || this.less(t, top)) return t;
    this.siftDownFromRoot(t);
    return top;
  }

  pop(): Thread | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) this.siftDownFromRoot(last);
    return top;
  }

  /** Puts `t` in place of the root and moves it down to where it belongs. */
  private siftDownFromRoot(t: Thread): void {
    const a = this.a;
    const n = a.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(a[r]!, a[l]!) ? r : l;
      if (!this.less(a[c]!, t)) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = t;
  }
}
