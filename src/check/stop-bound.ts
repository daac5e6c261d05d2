/**
 * The lowest unit at which some part of an exploration running on another
 * thread found a violation (or a model bug), in shared memory: the parts read
 * it before each unit (ExploreOptions.stopAfter) and the part that stops lowers
 * it. A 64-bit slot, as random's execution indices can pass 2^31.
 */
export class SharedBound {
  private static readonly NONE = 2n ** 63n - 1n;
  private readonly slot: BigInt64Array;

  /** A fresh bound (no stop yet), or a view of `buffer` made by another thread's `new SharedBound().buffer`. */
  constructor(buffer?: SharedArrayBuffer) {
    this.slot = new BigInt64Array(buffer ?? new SharedArrayBuffer(8));
    if (buffer === undefined) this.slot[0] = SharedBound.NONE;
  }

  /** The memory to hand to the other threads. */
  get buffer(): SharedArrayBuffer {
    return this.slot.buffer as SharedArrayBuffer;
  }

  /** The bound: Infinity while nobody stopped. */
  get(): number {
    const v = Atomics.load(this.slot, 0);
    return v === SharedBound.NONE ? Number.POSITIVE_INFINITY : Number(v);
  }

  /** Lowers the bound to `unit` if it is lower (-1 stops every part at once). */
  lower(unit: number): void {
    const u = BigInt(unit);
    for (;;) {
      const cur = Atomics.load(this.slot, 0);
      if (cur <= u || Atomics.compareExchange(this.slot, 0, cur, u) === cur) return;
    }
  }
}
