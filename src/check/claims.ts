import { owns, type Shard } from './shard.js';

/**
 * Units of a shard handed out on demand to parts running side by side (the
 * workers of one process), in shared memory. Static striping (shard.ts) leaves
 * a part idle while another holds the few big subtrees of a DFS split; here
 * whichever part is free takes the next unit nobody has taken. Units are taken
 * in increasing order, so every unit below one taken is taken too, and the
 * figures the parts keep by unit add up to the single-part run's.
 *
 * Slot 0 counts the units taken (positions 0, 1, 2, … among the shard's
 * units), slot 1 the executions spent against a shared maxExecutions.
 */
export class UnitClaims {
  private readonly slots: Int32Array;

  /** Fresh claims, or a view of `buffer` made by another thread's `new UnitClaims().buffer`. */
  constructor(buffer?: SharedArrayBuffer) {
    this.slots = new Int32Array(buffer ?? new SharedArrayBuffer(8));
  }

  /** The memory to hand to the other threads. */
  get buffer(): SharedArrayBuffer {
    return this.slots.buffer as SharedArrayBuffer;
  }

  /** Takes the next position nobody has taken. */
  take(): number {
    return Atomics.add(this.slots, 0, 1);
  }

  /** Executions spent so far by all parts. */
  spent(): number {
    return Atomics.load(this.slots, 1);
  }

  /** Spends one execution of `budget`; false when none is left. */
  spend(budget: number): boolean {
    return Atomics.add(this.slots, 1, 1) < budget;
  }
}

/**
 * Ownership of `shard`'s units by claim, for a part that visits units in
 * increasing order, each once: when it reaches a unit past the one it holds,
 * it takes another. Since positions are taken in increasing order and the
 * part has walked up to the one it held, the position taken is never behind it.
 */
export function claimedOwnership(shard: Shard, claims: UnitClaims): (unit: number) => boolean {
  let held = -1;
  return (unit) => {
    if (!owns(shard, unit)) return false;
    const pos = (unit - shard.index) / shard.count;
    if (pos > held) held = claims.take();
    return pos === held;
  };
}
