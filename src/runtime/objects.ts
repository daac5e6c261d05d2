/**
 * Names the shared objects that threads announce at yield points. Ids are dense
 * small integers; a family of objects (one per gfn, say) may be folded onto a few
 * ids, which only makes the partial-order reduction more conservative.
 */
export class ObjectRegistry {
  /** Object names, indexed by id, for traces and counterexamples. */
  readonly names: string[] = [];
  private readonly byName = new Map<string, number>();

  /** The id of the object called `name`, allocated on first use. */
  id(name: string): number {
    let id = this.byName.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.byName.set(name, id);
    }
    return id;
  }

  /** A family of `buckets` ids; member(k) folds key k onto one of them. */
  family(name: string, buckets: number): (key: number) => number {
    const base = this.names.length;
    for (let i = 0; i < buckets; i++) this.id(`${name}[${i}]`);
    return (key: number) => base + (key % buckets);
  }
}
