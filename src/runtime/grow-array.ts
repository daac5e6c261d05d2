/** The typed arrays the runtime, the model and the checker grow as they fill. */
type Growable = Int32Array | Float64Array | Uint8Array;

/**
 * A copy of `a` with room for `length` entries (at least a's own), the new
 * entries set to `fill`. The tables that use it double their capacity, so
 * each entry is copied a bounded number of times on average.
 */
export function grown<T extends Growable>(a: T, length: number, fill = 0): T {
  const b = new (a.constructor as new (n: number) => T)(Math.max(length, a.length));
  if (fill !== 0) b.fill(fill, a.length);
  b.set(a);
  return b;
}

/** The capacity, doubling from `cap`, that holds `n` entries. */
export function doubledTo(cap: number, n: number): number {
  let c = Math.max(cap, 1);
  while (c < n) c *= 2;
  return c;
}
