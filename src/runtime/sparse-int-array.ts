/** Entries per chunk of the array form: 2^10, 4 KiB. */
const CHUNK_SHIFT = 10;
const CHUNK = 1 << CHUNK_SHIFT;

/** What a chunk holds where no value was set. */
const UNSET = -(2 ** 31);

/** Entries past which a Map gives way to the chunks. */
const MAP_LIMIT = 1 << 16;

/**
 * Int32 values by non-negative integer index below 2^53, with no limit on
 * how many (a JS Map stops at 2^24 entries); an index never set reads as
 * undefined. Small, it is a Map, cheap to make (the checker makes one per
 * execution); past MAP_LIMIT entries, chunks of an Int32Array made on first
 * write, 4 bytes an entry over the spans written (-2^31 there stands for
 * unset).
 */
export class SparseIntArray {
  private small: Map<number, number> | null = new Map();
  private chunks: Map<number, Int32Array> | null = null;

  get(i: number): number | undefined {
    if (this.small !== null) return this.small.get(i);
    const c = this.chunks!.get(Math.floor(i / CHUNK));
    const v = c === undefined ? UNSET : c[i % CHUNK]!;
    return v === UNSET ? undefined : v;
  }

  /** Sets entry i to v (an int32 other than -2^31). */
  set(i: number, v: number): void {
    const small = this.small;
    if (small !== null) {
      small.set(i, v);
      if (small.size <= MAP_LIMIT) return;
      this.small = null;
      this.chunks = new Map();
      for (const [k, x] of small) this.set(k, x);
      return;
    }
    const k = Math.floor(i / CHUNK);
    let c = this.chunks!.get(k);
    if (c === undefined) {
      c = new Int32Array(CHUNK).fill(UNSET);
      this.chunks!.set(k, c);
    }
    c[i % CHUNK] = v;
  }
}
