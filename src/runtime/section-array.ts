import { doubledTo, grown } from './grow-array.js';

type Section = Int32Array | Float64Array | Uint8Array;

const SECTION_SHIFT = 12;
/** Entries per section. */
const SECTION = 1 << SECTION_SHIFT;
/** Entries the first section starts with: 64 bytes at most, on the JS heap (cheap for the checker's small executions, which stay in it). */
const FIRST = 8;

/**
 * Numbers indexed by a dense integer counted up from `base` (a pfn), 0 where
 * none was set, kept in typed-array sections of SECTION entries, as the
 * kernel's sparse memory model keeps its page structs: an index space that
 * grows without end (a long run that migrates pages again and again allocates
 * pfns without end) adds sections and never copies the ones made into larger
 * ones. The first section starts at FIRST entries and doubles up to SECTION;
 * the others, which only a long run reaches, are made whole.
 */
export class SectionArray<T extends Section> {
  private readonly sections: (T | undefined)[] = [];

  constructor(
    private readonly base: number,
    private readonly make: new (n: number) => T,
  ) {}

  get(key: number): number {
    const i = key - this.base;
    if (i < 0) return 0;
    const s = this.sections[i >>> SECTION_SHIFT];
    const o = i & (SECTION - 1);
    return s !== undefined && o < s.length ? s[o]! : 0;
  }

  set(key: number, value: number): void {
    const i = key - this.base;
    if (i < 0) throw new RangeError(`index ${key} below the base ${this.base}`);
    const j = i >>> SECTION_SHIFT;
    const o = i & (SECTION - 1);
    let s = this.sections[j];
    if (s === undefined || o >= s.length) s = this.grow(j, o + 1);
    s[o] = value;
  }

  /** Section `j`, made or grown to hold `min` entries. */
  private grow(j: number, min: number): T {
    const s = this.sections[j];
    const n = j === 0 ? Math.min(doubledTo(s?.length ?? FIRST, min), SECTION) : SECTION;
    const made = s === undefined ? new this.make(n) : grown(s, n);
    this.sections[j] = made;
    return made;
  }
}
