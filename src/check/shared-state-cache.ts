/** States a shared table holds by default (64 MiB of shared memory, taken by the pages touched). */
export const DEFAULT_MAX_STATES = 1 << 22;

/**
 * Subtrees of a dfs split whose units share one table of explored states
 * (DfsSplit.states): many, since a unit then costs no execution more than the
 * whole would, and small units keep the parts busy to the end.
 */
export const SHARED_STATES_PREFIXES = 512;

/** Slots a lookup tries before it gives up (the table is then too full there). */
const MAX_PROBE = 64;

/** Slots of a table for `maxStates` states: a power of two, at least twice as many. */
function slotsFor(maxStates: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(2 * maxStates, 16)));
}

/**
 * The states a search has explored, as 64-bit hashes (two 32-bit lanes), in
 * shared memory: threads exploring parts of one tree side by side each see
 * what the others have explored. A state is added by exactly one of them
 * (compare-and-swap on its first lane), which explores it; the others find
 * it and cut. Whatever the order, every state is then explored once, so the
 * states explored, and the executions they take, do not depend on who ran
 * what when (see DfsStrategy, split).
 *
 * The table does not grow: it holds `maxStates` states with room to spare
 * (8 bytes a slot, twice as many slots). Past that a lookup may give up and
 * answer "not seen" without adding: the state is explored again, which is
 * sound, but the count of executions may then depend on the order.
 */
export class SharedStateCache {
  private readonly table: Int32Array;
  private readonly mask: number;
  /** Lookups of this view that gave up, the table too full there: states explored again. */
  lost = 0;

  /** A view of `buffer` (from `SharedStateCache.buffer(maxStates)`). */
  constructor(buffer: SharedArrayBuffer) {
    this.table = new Int32Array(buffer);
    this.mask = (this.table.length >> 1) - 1;
  }

  /** Memory for a table of `maxStates` states, to hand to every thread that explores (zeroed: empty). */
  static buffer(maxStates: number): SharedArrayBuffer {
    return new SharedArrayBuffer(8 * slotsFor(maxStates));
  }

  /** True when the state (a, b) was added before (by any thread); otherwise adds it. */
  visit(a: number, b: number): boolean {
    // A slot's first lane is 0 while empty, its second 0 until written.
    a |= 0;
    b |= 0;
    if (a === 0) a = 0x6b43a9b5;
    if (b === 0) b = 1;
    const t = this.table;
    let i = a & this.mask;
    for (let n = 0; n < MAX_PROBE; n++) {
      let ta = Atomics.load(t, 2 * i);
      if (ta === 0) {
        ta = Atomics.compareExchange(t, 2 * i, 0, a);
        if (ta === 0) {
          Atomics.store(t, 2 * i + 1, b);
          return false;
        }
      }
      if (ta === a) {
        let tb = Atomics.load(t, 2 * i + 1);
        // Another thread has just taken the slot and is writing the second lane.
        while (tb === 0) tb = Atomics.load(t, 2 * i + 1);
        if (tb === b) return true;
      }
      i = (i + 1) & this.mask;
    }
    this.lost++;
    return false;
  }
}
