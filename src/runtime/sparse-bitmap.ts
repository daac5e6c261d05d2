/** Bits per chunk of the bitmap form: 2^12, 512 bytes of words. */
const CHUNK_SHIFT = 12;
const CHUNK_BITS = 1 << CHUNK_SHIFT;
const CHUNK_WORDS = CHUNK_BITS >>> 5;

/** Members past which a set leaves its Set for the bitmap. */
const SET_LIMIT = 1 << 16;

/**
 * A set of non-negative integers below 2^53, iterated in ascending order,
 * with no limit on its size (a JS Set stops at 2^24 members). Small, it is a
 * Set: cheap to make and fill, as the checker makes one per execution. Past
 * SET_LIMIT members (or filled with a range longer than that), it becomes a
 * bitmap in chunks made on first use, whose memory grows with the spans that
 * hold members, a bit per integer there.
 */
export class SparseBitmap {
  private small: Set<number> | null = new Set();
  private chunks: Map<number, Uint32Array> | null = null;
  private count = 0;

  /** Members. */
  get size(): number {
    return this.small?.size ?? this.count;
  }

  has(i: number): boolean {
    if (this.small !== null) return this.small.has(i);
    const c = this.chunks!.get(Math.floor(i / CHUNK_BITS));
    if (c === undefined) return false;
    const b = i % CHUNK_BITS;
    return (c[b >>> 5]! & (1 << (b & 31))) !== 0;
  }

  /** Adds i; true when it was not a member. */
  add(i: number): boolean {
    const small = this.small;
    if (small !== null) {
      if (small.has(i)) return false;
      small.add(i);
      if (small.size > SET_LIMIT) this.toBitmap();
      return true;
    }
    const c = this.chunk(Math.floor(i / CHUNK_BITS));
    const b = i % CHUNK_BITS;
    const w = b >>> 5;
    const m = 1 << (b & 31);
    if ((c[w]! & m) !== 0) return false;
    c[w] = c[w]! | m;
    this.count++;
    return true;
  }

  /** Removes i; true when it was a member. */
  delete(i: number): boolean {
    if (this.small !== null) return this.small.delete(i);
    const c = this.chunks!.get(Math.floor(i / CHUNK_BITS));
    if (c === undefined) return false;
    const b = i % CHUNK_BITS;
    const w = b >>> 5;
    const m = 1 << (b & 31);
    if ((c[w]! & m) === 0) return false;
    c[w] = c[w]! & ~m;
    this.count--;
    return true;
  }

  /** Adds every integer of [start, end). */
  addRange(start: number, end: number): void {
    if (this.small !== null && this.small.size + (end - start) > SET_LIMIT) this.toBitmap();
    if (this.small !== null) {
      for (let i = start; i < end; i++) this.small.add(i);
      return;
    }
    for (let i = start; i < end; ) {
      if (i % 32 === 0 && end - i >= 32) {
        // A whole word at once.
        const c = this.chunk(Math.floor(i / CHUNK_BITS));
        const w = (i % CHUNK_BITS) >>> 5;
        this.count += 32 - popcount(c[w]!);
        c[w] = 0xffffffff;
        i += 32;
      } else this.add(i++);
    }
  }

  /** The members as they are now, ascending: later changes do not show. */
  snapshot(): Iterable<number> {
    if (this.small !== null) return [...this.small].sort((a, b) => a - b);
    const copy = new SparseBitmap();
    copy.small = null;
    copy.chunks = new Map([...this.chunks!].map(([k, words]) => [k, words.slice()]));
    copy.count = this.count;
    return copy;
  }

  /** The members, ascending. */
  *[Symbol.iterator](): Generator<number, void, void> {
    if (this.small !== null) {
      yield* [...this.small].sort((a, b) => a - b);
      return;
    }
    const chunks = this.chunks!;
    for (const k of [...chunks.keys()].sort((a, b) => a - b)) {
      const c = chunks.get(k)!;
      for (let w = 0; w < CHUNK_WORDS; w++) {
        for (let word = c[w]!; word !== 0; ) {
          const low = word & -word;
          yield k * CHUNK_BITS + w * 32 + (31 - Math.clz32(low));
          word ^= low;
        }
      }
    }
  }

  private chunk(k: number): Uint32Array {
    let c = this.chunks!.get(k);
    if (c === undefined) {
      c = new Uint32Array(CHUNK_WORDS);
      this.chunks!.set(k, c);
    }
    return c;
  }

  private toBitmap(): void {
    const members = this.small!;
    this.small = null;
    this.chunks = new Map();
    for (const i of members) this.add(i);
  }
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}
