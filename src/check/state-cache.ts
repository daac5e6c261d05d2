/** Slots a lookup tries in a table that can no longer grow. */
const MAX_PROBE = 64;

/**
 * The states a search has explored, as 64-bit hashes (two 32-bit lanes) in an
 * open-addressing table of bounded size. It is lossy: once full, a new state
 * overwrites an old one, which only means that state may be explored again.
 * So a search may trust a hit (up to a hash collision, about one chance in
 * 2^64 / n^2) and must not rely on a miss.
 */
export class StateCache {
  /** Lane pairs; (0, 0) is an empty slot. */
  private table: Int32Array;
  /** Slots - 1 (a power of two minus one). */
  private mask: number;
  /** Slots in use. */
  private used = 0;
  /** Most slots the table grows to. */
  private readonly maxSlots: number;
  /** States forgotten (overwritten) once the table was full, across clears: they may be explored again. */
  lost = 0;

  /** A table of at most `maxSlots` states (rounded up to a power of two), 8 bytes each. */
  constructor(maxSlots = 1 << 23) {
    this.maxSlots = 2 ** Math.ceil(Math.log2(Math.max(maxSlots, 16)));
    const slots = Math.min(1 << 12, this.maxSlots);
    this.table = new Int32Array(2 * slots);
    this.mask = slots - 1;
  }

  /** States held. */
  get size(): number {
    return this.used;
  }

  /** Forgets every state (and gives back the memory of a grown table). */
  clear(): void {
    if (this.used === 0) return;
    const slots = Math.min(1 << 12, this.maxSlots);
    this.table = new Int32Array(2 * slots);
    this.mask = slots - 1;
    this.used = 0;
  }

  /** True when the state (a, b) was added before; otherwise adds it. */
  visit(a: number, b: number): boolean {
    a |= 0;
    b |= 0;
    if (a === 0 && b === 0) b = 1;
    const t = this.table;
    const full = this.mask + 1 >= this.maxSlots;
    let i = a & this.mask;
    // The table doubles before it is half full, so a probe ends at an empty
    // slot; once it cannot grow, a probe is kept short and a state past it
    // takes the first slot's place.
    for (let n = 0; !full || n < MAX_PROBE; n++) {
      const ta = t[2 * i];
      const tb = t[2 * i + 1];
      if (ta === a && tb === b) return true;
      if (ta === 0 && tb === 0) {
        t[2 * i] = a;
        t[2 * i + 1] = b;
        if (++this.used * 2 > this.mask + 1 && !full) this.grow();
        return false;
      }
      i = (i + 1) & this.mask;
    }
    i = a & this.mask;
    t[2 * i] = a;
    t[2 * i + 1] = b;
    this.lost++;
    return false;
  }

  /** Doubles the table, re-adding what it holds. */
  private grow(): void {
    const old = this.table;
    const slots = 2 * (this.mask + 1);
    this.table = new Int32Array(2 * slots);
    this.mask = slots - 1;
    this.used = 0;
    for (let j = 0; j < old.length; j += 2) {
      const a = old[j];
      const b = old[j + 1];
      if (a === 0 && b === 0) continue;
      let i = a & this.mask;
      while (this.table[2 * i] !== 0 || this.table[2 * i + 1] !== 0) i = (i + 1) & this.mask;
      this.table[2 * i] = a;
      this.table[2 * i + 1] = b;
      this.used++;
    }
  }
}
