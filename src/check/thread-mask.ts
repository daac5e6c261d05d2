/**
 * Sets of threads as 32-bit masks, bit i for thread id i (the checker allows
 * at most 32 threads).
 */

/** The mask of thread `id`. */
export function bit(id: number): number {
  return 1 << id;
}

/** The lowest thread id in a non-empty mask. */
export function lowest(mask: number): number {
  return 31 - Math.clz32(mask & -mask);
}

/** Number of threads in a mask. */
export function popcount(mask: number): number {
  let m = mask - ((mask >>> 1) & 0x55555555);
  m = (m & 0x33333333) + ((m >>> 2) & 0x33333333);
  return (Math.imul((m + (m >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) | 0;
}
