/**
 * Names the shared objects that threads announce at yield points. Ids are dense
 * small integers; a family of objects (one per gfn, say) may be folded onto a few
 * ids, which only makes the partial-order reduction more conservative.
 */
export class ObjectRegistry {
  private readonly singles: string[] = [];
  private readonly byName = new Map<string, number>();
  /** Families: [first id, buckets, name]; members are named on demand. */
  private readonly families: [number, number, string][] = [];
  private next = 0;

  /** The id of the object called `name`, allocated on first use. */
  id(name: string): number {
    let id = this.byName.get(name);
    if (id === undefined) {
      id = this.next++;
      this.singles[id] = name;
      this.byName.set(name, id);
    }
    return id;
  }

  /** A family of `buckets` ids; member(k) folds key k onto one of them. */
  family(name: string, buckets: number): (key: number) => number {
    const base = this.next;
    this.next += buckets;
    this.families.push([base, buckets, name]);
    return (key: number) => base + (key % buckets);
  }

  /** The object's name, for traces and counterexamples ("mmu_lock", "spte[3]"). */
  name(id: number): string {
    const single = this.singles[id];
    if (single !== undefined) return single;
    for (const [base, n, name] of this.families) if (id >= base && id < base + n) return `${name}[${id - base}]`;
    return `object${id}`;
  }

  /** Every object's name, indexed by id. */
  get names(): string[] {
    return Array.from({ length: this.next }, (_, i) => this.name(i));
  }
}
