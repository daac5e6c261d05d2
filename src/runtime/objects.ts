/** Single objects looked up along a list; a registry with more gets a Map. */
const SCAN_LIMIT = 32;

/**
 * Names the shared objects that threads announce at yield points. Ids are dense
 * small integers; a family of objects (one per gfn, say) may be folded onto a few
 * ids, which only makes the partial-order reduction more conservative.
 */
export class ObjectRegistry {
  /**
   * The single objects' names and ids, in the order they were named. A model
   * names a dozen objects, once each, and the checker builds a registry per
   * execution: a look-up along these lists costs less than filling a Map
   * (hashing names made afresh, `vcpu0`...). Past SCAN_LIMIT names, a Map.
   * No array by id: a family's ids lie between singles' (spte after
   * mmu_invalidate), and one would be a sparse array of 2 KB per instance.
   */
  private readonly singleNames: string[] = [];
  private readonly singleIds: number[] = [];
  private byName: Map<string, number> | null = null;
  /** Families: [first id, buckets, name]; members are named on demand. */
  private readonly families: [number, number, string][] = [];
  private next = 0;

  /** The id of the object called `name`, allocated on first use. */
  id(name: string): number {
    const names = this.singleNames;
    if (this.byName === null) {
      for (let i = 0; i < names.length; i++) if (names[i] === name) return this.singleIds[i]!;
    } else {
      const known = this.byName.get(name);
      if (known !== undefined) return known;
    }
    const id = this.next++;
    names.push(name);
    this.singleIds.push(id);
    if (this.byName !== null) this.byName.set(name, id);
    else if (names.length > SCAN_LIMIT) this.byName = new Map(names.map((n, i) => [n, this.singleIds[i]!]));
    return id;
  }

  /**
   * A family of `buckets` ids, a power of two; member(k) folds key k (an
   * integer, not negative: a gfn, an hva page) onto one of them, by its low bits.
   */
  family(name: string, buckets: number): (key: number) => number {
    if (!Number.isInteger(Math.log2(buckets))) throw new RangeError(`family ${name}: ${buckets} buckets, not a power of two`);
    const base = this.next;
    const mask = buckets - 1;
    this.next += buckets;
    this.families.push([base, buckets, name]);
    return (key: number) => base + (key & mask);
  }

  /** The object's name, for traces and counterexamples ("mmu_lock", "spte[3]"). */
  name(id: number): string {
    const k = this.singleIds.indexOf(id);
    if (k >= 0) return this.singleNames[k]!;
    for (const [base, n, name] of this.families) if (id >= base && id < base + n) return `${name}[${id - base}]`;
    return `object${id}`;
  }

  /** Every object's name, indexed by id. */
  get names(): string[] {
    return Array.from({ length: this.next }, (_, i) => this.name(i));
  }
}
